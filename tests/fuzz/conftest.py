"""Fixtures for the fuzz suite: one served service (real uvicorn, fake providers) per module, an
admin key, and the checks every reply must pass."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from orchestratex.testing.fake_provider import FakeProviderOptions
from tests.hostile.server import Served, bearer, serve
from tests.waiting import until_sync

REPLY_BOUND_S = 20.0
"""No reply may take longer than this (a generous bound on a loaded 2-core machine: the
point is that nothing hangs or stalls the service)."""


@dataclass
class Fuzzed:
    served: Served
    key: str
    http: httpx.Client

    def healthy(self) -> None:
        """Still serving quickly, and a normal run still completes."""
        started = time.monotonic()
        health = self.http.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert time.monotonic() - started < 5.0
        submitted = self.http.post(
            "/api/orchestrate/prompt", json={"prompt": "Name a prime", "max_rounds": 1}
        )
        assert submitted.status_code in (202, 429), submitted.text
        if submitted.status_code == 202:
            status_url = submitted.json()["status_url"]
            until_sync(
                lambda: self.http.get(status_url).json()["status"] in ("completed", "failed"),
                what="a normal run finished",
                timeout_s=60,
            )


def check_error_shape(path: str, response: httpx.Response | Any) -> None:
    """An error reply is JSON in the documented shape: OpenAI's on /v1, `{"error": {"code",
    "message"}}` everywhere else."""
    status = response.status_code
    assert status < 500, f"{status} on {path}: {response.text[:300]}"
    if status < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("message"), str) and error["message"], body
    assert isinstance(error.get("code"), str) and error["code"], body
    if path.startswith("/v1/"):
        assert {"message", "type", "code", "param"} <= set(error), body
        assert isinstance(error["type"], str), body


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    home = tmp_path_factory.mktemp("hypothesis")
    set_hypothesis_home_dir(home / ".hypothesis")
    data: Path = tmp_path_factory.mktemp("service")
    try:
        # A generous request rate: the fuzzer, not the rate limiter, should decide the answers.
        settings = {"requests_per_minute": 100_000}
        with serve(data, fake_options=FakeProviderOptions(seed=5), settings=settings) as served:
            key = served.new_key_sync("fuzz-admin", admin=True)
            with httpx.Client(
                base_url=served.base_url,
                headers=bearer(key),
                trust_env=False,
                timeout=REPLY_BOUND_S + 10,
            ) as http:
                fuzzed = Fuzzed(served, key, http)
                yield fuzzed
                fuzzed.healthy()
    finally:
        set_hypothesis_home_dir(None)
