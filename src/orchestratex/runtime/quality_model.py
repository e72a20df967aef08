"""The learned per-model quality of a deployment: fitted on the store's judged history, saved
to a file, loaded at start (see engine/learned_quality.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

from orchestratex.engine.learned_quality import DEFAULT_MIN_HISTORY, HistoryRow, QualityModel
from orchestratex.store.db import SessionFactory
from orchestratex.store.facade import Store
from orchestratex.store.history import judged_answers
from orchestratex.store.learned_models import count_judged, save_body

log = logging.getLogger(__name__)
QUALITY_MODEL_FILE = "quality-model.json"
QUALITY_MODEL_NAME = "quality"
"""Its name among the learned models in the store."""


async def judged_history(sessions: SessionFactory) -> list[HistoryRow]:
    """Every judged answer in the store, oldest first: prompt, model, score, cost, latency."""
    rows = await judged_answers(sessions)
    return [
        HistoryRow(prompt=t, model=m, score=s, cost_usd=c, latency_ms=lat)
        for t, m, s, c, lat in rows
    ]


def quality_model_path(data_dir: Path) -> Path:
    return data_dir / QUALITY_MODEL_FILE


def save_quality_model(model: QualityModel, path: Path) -> None:
    """Write atomically (a partial file is never read as the model)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(model.to_dict(), separators=(",", ":")), encoding="utf-8")
    partial.replace(path)


def load_quality_model(path: Path) -> QualityModel | None:
    """The saved quality model, or None when there is none or it is unusable (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return QualityModel.from_dict(data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("quality model %s is unusable (%s); selection uses the priors", path, exc)
        return None


async def train_quality_model(
    store: Store,
    path: Path,
    *,
    min_history: int = DEFAULT_MIN_HISTORY,
) -> tuple[QualityModel, int]:
    """Fit on the judged history in the store (in a worker thread) and save it to `path` and
    to the store (where running services pick it up); returns the model and how many judged
    answers it saw."""
    count = await count_judged(store.sessions)
    rows = await judged_history(store.sessions)
    model = await asyncio.to_thread(QualityModel.fit, rows, min_history=min_history)
    await asyncio.to_thread(save_quality_model, model, path)
    body = json.dumps(model.to_dict(), separators=(",", ":"))
    await save_body(
        store.writes, QUALITY_MODEL_NAME, body, judged_answers=count, trained_by="router train"
    )
    return model, len(rows)
