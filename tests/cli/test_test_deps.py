"""scripts/test-deps.sh: installs what the tests need when missing, or says exactly how.

`apt-get` and `id` are replaced by stand-ins on PATH that record their arguments, so the
script's decisions are checked without touching the machine's packages.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "test-deps.sh"


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _run(tmp_path: Path, uid: int, *groups: str) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    _stub(bin_dir, "id", f"echo {uid}")
    _stub(bin_dir, "apt-get", f'echo "$*" >> {calls}')
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env["ORX_CHROMIUM"] = str(tmp_path / "no-chromium")  # Chromium is "missing"
    done = subprocess.run(
        ["bash", str(SCRIPT), *groups], capture_output=True, text=True, env=env, timeout=30
    )
    return done, calls.read_text("utf-8") if calls.exists() else ""


def test_not_root_stops_with_the_exact_command(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, 1000, "chromium")
    assert done.returncode == 1
    assert calls == ""  # nothing attempted
    expected = "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium"
    assert expected in done.stderr


def test_root_updates_once_then_installs_only_what_is_missing(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, 0, "chromium", "make")
    assert done.returncode == 0, done.stderr
    # make is present on this machine, so only chromium is installed
    assert calls.splitlines() == ["update -q", "install -y --no-install-recommends chromium"]


def test_nothing_missing_does_nothing(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, 1000, "make")
    assert done.returncode == 0, done.stderr
    assert calls == ""
    assert done.stdout == ""


def test_unknown_group_is_refused(tmp_path: Path) -> None:
    done, _ = _run(tmp_path, 0, "nonsense")
    assert done.returncode == 2
    assert "unknown group 'nonsense'" in done.stderr
