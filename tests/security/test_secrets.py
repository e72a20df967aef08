"""Provider keys and user keys never reach logs, events, errors, responses or the database.

Every provider key is a sentinel string. A run goes through provider faults (the fake server's
fail_rate), a provider that answers errors quoting the key it was sent (as real providers do),
and callers with wrong keys; all logs at DEBUG, every event (SSE and WebSocket), every response
and the database file are then searched for the sentinels.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.types import Domain
from orchestratex.testing.fake_provider import FakeProviderOptions
from tests.hostile.server import ENDED, bearer, serve
from tests.security.test_keys_cors import read_tree
from tests.servers import uvicorn_on_loopback

SENTINELS = {
    "OPENAI_API_KEY": "sentinel-openai-7Qx2Lm9Vb4",
    "ANTHROPIC_API_KEY": "sentinel-anthropic-3Kd8Wp1Zr6",
    "ORX_T_FAKE_OPENAI": "sentinel-fake-openai-5Hn7Tc2Gy8",
    "ORX_T_FAKE_ANTHROPIC": "sentinel-fake-anthropic-9Jv4Sd6Fq1",
    "ORX_T_ECHO": "sentinel-echo-2Bm8Xk5Nw3",
}
WRONG_USER_KEY = "orx_sentinelWrongUserKey0123456789abcdefXYZ"


async def _echo(request: Request) -> JSONResponse:
    """A provider that refuses every call, quoting the credentials it was sent."""
    sent = request.headers.get("authorization", "") + " " + request.headers.get("x-api-key", "")
    message = f"Incorrect API key provided: {sent.strip()}. Header: {dict(request.headers)}"
    status = 400 if "chat" in request.url.path else 500
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status)


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/{path:path}", _echo, methods=["GET", "POST"])])
    async with uvicorn_on_loopback(app) as address:
        yield f"http://{address}/v1"


ECHO_MODEL = ModelSpec(
    key="echo-model",
    family="echo",
    provider="echo",
    model_id="echo-large",
    context_window=32_000,
    specialties={Domain.GENERAL: 0.1},
    typical_latency_ms=500,
    tier="small",
    price=Price(input_per_mtok=0.1, output_per_mtok=0.1, source="test"),
)


def _record_text(record: logging.LogRecord) -> str:
    text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
    return f"{text} {record.args!r} {record.__dict__!r}"


async def _sse(http: httpx.AsyncClient, thread_id: str) -> str:
    response = await http.get(f"/api/orchestrate/{thread_id}/events")
    assert response.status_code == 200
    return response.text


async def _ws_transcript(url: str, key: str) -> str:
    frames: list[str] = []
    async with connect(url, additional_headers=bearer(key), proxy=None) as ws:
        try:
            while True:
                frames.append(str(await asyncio.wait_for(ws.recv(), 20)))
        except ConnectionClosed:
            pass
    return "\n".join(frames)


async def test_no_secret_anywhere(
    tmp_path: Path,
    echo_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.setenv(name, SENTINELS[name])
    caplog.set_level(logging.DEBUG)
    for name in ("orchestratex", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpx2"):
        caplog.set_level(logging.DEBUG, logger=name)
    for name in ("httpcore", "openai", "anthropic", "websockets", "sqlalchemy", "fastapi"):
        caplog.set_level(logging.DEBUG, logger=name)

    overrides = {
        "fake-openai": {"api_key_env": "ORX_T_FAKE_OPENAI"},
        "fake-anthropic": {"api_key_env": "ORX_T_FAKE_ANTHROPIC"},
        "echo": {
            "protocol": "openai",
            "base_url": echo_url,
            "api_key_env": "ORX_T_ECHO",
            "max_retries": 0,
        },
    }
    seen: list[str] = []
    faults = FakeProviderOptions(
        seed=11, fail_rate=0.35, hang_s=0.1, retry_after_s=0, faults=["rate_limit", "server_error"]
    )
    with serve(
        tmp_path,
        fake_options=faults,
        env=dict(SENTINELS),
        catalog_options={"extra_models": [ECHO_MODEL], "provider_overrides": overrides},
        log_level="debug",
    ) as served:
        key = await served.new_key("alice", admin=True)
        async with httpx.AsyncClient(
            base_url=served.base_url, headers=bearer(key), trust_env=False, timeout=60
        ) as http:
            bodies: list[dict[str, Any]] = [
                {"prompt": "Explain recursion briefly", "max_rounds": 2},
                {"prompt": "Say hello", "model": "echo-model", "max_rounds": 1},
                {"prompt": "Judge me", "judges": ["echo-model"], "max_rounds": 1},
            ]
            threads: list[str] = []
            for body in bodies:
                response = await http.post("/api/orchestrate/prompt", json=body)
                assert response.status_code == 202, response.text
                seen.append(response.text)
                threads.append(response.json()["thread_id"])
            chat = await http.post(
                "/v1/chat/completions",
                json={"model": "echo-model", "messages": [{"role": "user", "content": "hi"}]},
            )
            seen.append(chat.text)
            assert chat.status_code >= 400 and "error" in chat.json()

            transcripts = [_ws_transcript(f"{served.ws_url}/ws/thread/{t}", key) for t in threads]
            seen += await asyncio.gather(*transcripts)
            statuses: list[dict[str, Any]] = []
            for thread_id in threads:
                status = (await http.get(f"/api/orchestrate/status/{thread_id}")).json()
                assert status["status"] in ENDED, status
                statuses.append(status)
                seen.append(json.dumps(status))
                seen.append(await _sse(http, thread_id))
                seen.append((await http.get(f"/api/threads/{thread_id}")).text)
            assert statuses[1]["status"] == "failed", "the echo provider refused the run"
            assert "Incorrect API key provided" in (statuses[1]["error"] or "")

            for url in (
                "/api/orchestrate/models/health",
                "/v1/models",
                "/api/analytics/dashboard",
                "/metrics",
                "/api/threads",
                "/healthz",
                "/api/orchestrate/test",
            ):
                method = "POST" if url.endswith("/test") else "GET"
                seen.append((await http.request(method, url)).text)

            wrong = await http.get("/api/threads", headers=bearer(WRONG_USER_KEY))
            assert wrong.status_code == 401
            seen.append(wrong.text + json.dumps(dict(wrong.headers)))
            async with connect(
                f"{served.ws_url}/ws/intruder",
                additional_headers=bearer(WRONG_USER_KEY),
                proxy=None,
            ) as ws:
                seen.append(str(await ws.recv()))
            stats = served.fake.stats
            assert sum(stats.faults.values()) > 0, "provider faults were injected"

    # The test's own WebSocket client logs the headers it sends; that is not the service.
    server_records = [r for r in caplog.records if r.name != "websockets.client"]
    seen += [_record_text(r) for r in server_records]
    seen.append(read_tree(tmp_path).decode("latin-1"))
    everything = "\n".join(seen)
    assert len(server_records) > 20, "logs were captured"
    assert any(
        r.name == "uvicorn.error" and "authorization" in r.getMessage() for r in server_records
    )
    for name, secret in {**SENTINELS, "wrong user key": WRONG_USER_KEY}.items():
        assert secret not in everything, f"{name} leaked"
        assert secret[-10:] not in everything, f"part of {name} leaked"
    assert "[redacted]" in everything or "check the API key" in everything
