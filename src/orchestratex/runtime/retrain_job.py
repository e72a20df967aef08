"""The retraining job, run in its own process so that fitting never holds the service's event
loop (prompt analysis is pure Python): `python -m orchestratex.runtime.retrain_job` reads
`{"min_history": N, "rows": [[prompt, model, score], ...]}` as JSON on stdin and writes the
fitted quality model (engine/learned_quality.py `to_dict`) as JSON on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from orchestratex.engine.learned_quality import HistoryRow, QualityModel


def job_input(rows: Sequence[HistoryRow], min_history: int) -> bytes:
    """The job's stdin for these judged answers."""
    payload = {"min_history": min_history, "rows": [[r.prompt, r.model, r.score] for r in rows]}
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def fit(data: dict[str, Any]) -> dict[str, Any]:
    rows = [HistoryRow(str(p), str(m), float(s)) for p, m, s in data["rows"]]
    return QualityModel.fit(rows, min_history=int(data["min_history"])).to_dict()


def main() -> None:
    data = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(fit(data), separators=(",", ":")))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
