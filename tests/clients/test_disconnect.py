"""A /v1 client that goes away before its answer ends cancels the run: no more is spent on it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.waiting import until

SLOW_MS = 60_000.0
"""The fake's first byte comes after half of this: far later than any test waits."""


async def _leave_mid_call(
    service: Running, fake: FakeProviderServer, path: str, body: dict[str, Any]
) -> str:
    """Open a streamed request, read its first SSE event, hang up once the upstream call is
    open at the fake provider; the thread id the event named."""
    headers = {"Authorization": f"Bearer {service.key}"}
    async with (
        httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
        http.stream("POST", path, json=body, headers=headers) as reply,
    ):
        assert reply.status_code == 200
        lines = reply.aiter_lines()  # kept open: leaving a loop over it would hang up
        line = ""
        while not line.startswith("data:"):
            line = await anext(lines)
        first = json.loads(line.removeprefix("data:"))
        await until(lambda: fake.stats.in_flight == 1, what="the upstream call open")
    ident = first.get("id") or (first.get("message") or first["response"])["id"]
    return str(ident).split("-", 1)[-1].removeprefix("msg_").removeprefix("resp_")


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/v1/chat/completions", "fake-gpt"),
        ("/v1/chat/completions", "orchestratex/auto"),
        ("/v1/messages", "fake-claude"),
        ("/v1/responses", "fake-gpt"),
    ],
)
async def test_a_client_that_hangs_up_cancels_its_run(
    service: Running, fake: FakeProviderServer, path: str, model: str
) -> None:
    fake.options.latency_ms = SLOW_MS
    body: dict[str, Any] = {
        "model": model,
        "stream": True,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Explain CRDTs briefly."}],
    }
    if path == "/v1/responses":
        body = {"model": model, "stream": True, "input": "Explain CRDTs briefly."}
    thread_id = await _leave_mid_call(service, fake, path, body)
    headers = {"Authorization": f"Bearer {service.key}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as http:

        async def ended() -> dict[str, Any] | None:
            found: dict[str, Any] = (await http.get(f"/api/orchestrate/status/{thread_id}")).json()
            return found if found.get("status") not in (None, "queued", "running") else None

        status = await until(ended, what="the abandoned run ended", timeout_s=SLOW_MS / 4000)
    assert status["status"] == "cancelled", status
    # The upstream call was closed rather than waited for.
    await until(lambda: fake.stats.abandoned == 1, what="the upstream call closed")


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/v1/chat/completions", "fake-gpt"),
        ("/v1/chat/completions", "orchestratex/refine"),
        ("/v1/messages", "fake-claude"),
        ("/v1/responses", "fake-gpt"),
        ("/v1/completions", "fake-gpt"),
    ],
)
async def test_a_client_that_gives_up_on_a_whole_reply_cancels_its_run(
    service: Running, fake: FakeProviderServer, path: str, model: str
) -> None:
    """No stream: the reply is awaited whole, so only the socket closing tells the service."""
    fake.options.latency_ms = SLOW_MS
    prompt = f"Explain CRDTs briefly ({path} {model})."
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": prompt}],
    }
    if path == "/v1/responses":
        body = {"model": model, "input": prompt}
    elif path == "/v1/completions":
        body = {"model": model, "max_tokens": 200, "prompt": prompt}
    headers = {"Authorization": f"Bearer {service.key}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=30) as http:
        waiting = asyncio.create_task(http.post(path, json=body))
        await until(lambda: fake.stats.in_flight == 1, what="the upstream call open")
        waiting.cancel()  # the client gives up: its connection closes
        with pytest.raises(asyncio.CancelledError):
            await waiting

        async def ended() -> dict[str, Any] | None:
            page = (await http.get("/api/threads", params={"q": prompt})).json()
            found = [t for t in page["items"] if t["status"] not in ("queued", "running")]
            return found[0] if found else None

        thread = await until(ended, what="the abandoned run ended", timeout_s=SLOW_MS / 4000)
    assert thread["status"] == "cancelled", thread
    await until(lambda: fake.stats.abandoned == 1, what="the upstream call closed")
