"""`orchestratex serve` shows the service's own log lines (not only uvicorn's).

The service is started as a real process in replay mode on a tiny RouteLLM-shaped folder: the
first start trains and caches the learned router ("learned router ready"), the second loads the
cache ("learned router loaded").
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.cli.conftest import PROVIDER_KEY_VARS
from tests.routing.test_cli import fake_data

START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve_until(env: dict[str, str], wanted: str) -> list[str]:
    """Run `orchestratex serve` until a log line contains `wanted`; returns the lines seen."""
    orchestratex = Path(sys.executable).with_name("orchestratex")
    command = [str(orchestratex), "serve", "--port", str(_free_port())]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {wanted!r} line in time; saw: {seen}"
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, f"serve exited before logging {wanted!r}; saw: {seen}"
            seen.append(line)
            if wanted in line:
                return seen
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_logs_the_learned_router_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEY_VARS}
    env.update(
        ORX_MODE="replay",
        ORX_DATA_DIR=str(tmp_path / "data"),
        ORX_ROUTELLM_DATA_DIR=str(fake_data(tmp_path / "routellm")),
        ORX_LOG_LEVEL="INFO",
    )
    env.pop("ORX_CONFIG", None)
    first = _serve_until(env, "learned router ready: trained on")
    assert any("replay mode: answers are real recorded answers" in line for line in first)
    second = _serve_until(env, "learned router loaded from")
    assert not any("learned router ready" in line for line in second)
