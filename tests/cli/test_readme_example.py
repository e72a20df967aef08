"""The README's library example runs as written, against the fake provider via ORX_CONFIG."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def library_example() -> str:
    blocks: list[str] = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    runnable = [b for b in blocks if "asyncio.run(main())" in b]
    assert len(runnable) == 1, "the README should hold exactly one runnable library example"
    return runnable[0]


def test_library_example_runs(local_env: Path, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(library_example(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=90,
        env=dict(os.environ),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "1 started"
    types = [line.split()[1] for line in lines if re.fullmatch(r"\d+ \w+", line)]
    assert types[-1] == "completed"
    assert {"analysis", "selection", "response", "evaluation"} <= set(types)
    # the last line: answer ... score cost stop_reason; the fake provider says it is a test tool
    assert "fake provider" in done.stdout
    assert re.search(r" \d+(\.\d+)? \d+(\.\d+)?(e-\d+)? (threshold|max_rounds|plateau)$", lines[-1])
