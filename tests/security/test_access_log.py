"""Credentials in URLs never reach the log, and redacting never costs the access line: checked
through uvicorn's real access logger (its default logging configuration) in a real server."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import httpx

KEY = "orx_Zk3vQ9wLp2Xy7Rt5Hn8Bm4Cd6Fg1Jk0"
ROOT = Path(__file__).resolve().parents[2]


def test_access_lines_are_kept_with_credentials_redacted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.security.access_log_server", str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr, stdin = process.stdout, process.stderr, process.stdin
    assert stdout is not None and stderr is not None and stdin is not None
    errors: list[str] = []
    out: list[str] = []
    readers = [
        threading.Thread(target=lambda: errors.extend(stderr), daemon=True),
        threading.Thread(target=lambda: out.extend(stdout), daemon=True),
    ]
    readers[0].start()
    try:
        first = stdout.readline()
        assert first.startswith("PORT "), (first, errors)
        readers[1].start()
        base = f"http://127.0.0.1:{int(first.split()[1])}"
        urls = [
            "/healthz?api_key=sekrit-one",
            f"/healthz?token={KEY}",
            "/api/threads?q=x&access_token=sekrit-two&password=sekrit-three",
            "/v1/models?key=sekrit-four",
            "/healthz?authorization=sekrit-five",
        ]
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as http:
            for url in urls:
                assert http.get(url).status_code == 200, url
            bearer = {"Authorization": f"Bearer {KEY}"}
            assert http.get("/healthz", headers=bearer).status_code == 200
    finally:
        stdin.close()
        process.wait(30)
        for reader in readers:
            if reader.ident is not None:
                reader.join(10)
    # uvicorn writes the access log to stdout and everything else to stderr.
    log = "".join(errors) + "".join(out)
    assert "Traceback" not in log and "TypeError" not in log, log
    assert "sekrit" not in log and KEY not in log, log
    access = [line for line in log.splitlines() if '" 200' in line and "GET /" in line]
    assert len(access) == len(urls) + 1, log
    assert 'GET /healthz?api_key=[redacted] HTTP/1.1" 200' in log, log
    assert "/api/threads?q=x&access_token=[redacted]&password=[redacted]" in log, log
