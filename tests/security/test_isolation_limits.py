"""Per-user isolation (REST, SSE, WebSocket, analytics), rate limits, budget caps, and keys
never accepted in WebSocket URLs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orchestratex.api.routes.ws import hub_of
from orchestratex.store.tables import User
from tests.hostile.conftest import submit
from tests.hostile.server import Served, bearer, serve
from tests.waiting import status_ended


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    with serve(tmp_path) as running:
        hub_of(running.app).auth_timeout_s = 0.5
        yield running


def _client(served: Served, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=served.base_url, headers=bearer(key), trust_env=False, timeout=30
    )


async def _ws_messages(url: str, headers: dict[str, str], first: str | None = None) -> Any:
    messages: list[dict[str, Any]] = []
    async with connect(url, additional_headers=headers, proxy=None) as ws:
        if first is not None:
            await ws.send(first)
        try:
            while True:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return messages, closed.rcvd.code


async def test_users_cannot_reach_each_others_runs(served: Served) -> None:
    alice, bob = await served.new_key("alice"), await served.new_key("bob")
    admin = await served.new_key("root", admin=True)
    async with _client(served, alice) as as_alice, _client(served, bob) as as_bob:
        thread_id = await submit(as_bob, "Bob's private question")
        await status_ended(as_bob, thread_id)

        for url in (f"/api/orchestrate/{thread_id}/events", f"/api/threads/{thread_id}"):
            denied = await as_alice.get(url)
            assert denied.status_code == 404 and "Bob" not in denied.text
        assert (await as_bob.get(f"/api/orchestrate/{thread_id}/events")).status_code == 200

        messages, code = await _ws_messages(f"{served.ws_url}/ws/thread/{thread_id}", bearer(alice))
        assert code == 4404 and messages[-1]["code"] == "thread_not_found"
        async with connect(
            f"{served.ws_url}/ws/snoop", additional_headers=bearer(alice), proxy=None
        ) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "subscribe", "thread_id": thread_id}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply["type"] == "error" and reply["code"] == "thread_not_found"
        own, own_code = await _ws_messages(f"{served.ws_url}/ws/thread/{thread_id}", bearer(bob))
        assert own_code == 1000 and any(m["type"] == "event" for m in own)

        alice_usage = (await as_alice.get("/api/analytics/usage")).json()
        bob_usage = (await as_bob.get("/api/analytics/usage")).json()
        assert alice_usage["threads"] == 0 and bob_usage["threads"] == 1
        alice_costs = (await as_alice.get("/api/analytics/costs")).json()
        bob_costs = (await as_bob.get("/api/analytics/costs")).json()
        assert alice_costs != bob_costs
        bob_id = (await as_bob.get(f"/api/threads/{thread_id}")).json()["thread"]["user_id"]
        peek = await as_alice.get(f"/api/analytics/usage?user_id={bob_id}")
        assert peek.status_code == 403
        for url in ("/metrics", "/api/ws/stats", "/api/orchestrate/test"):
            method = "POST" if url.endswith("test") else "GET"
            assert (await as_alice.request(method, url)).status_code == 403, url
        async with _client(served, admin) as as_admin:
            seen = await as_admin.get(f"/api/analytics/usage?user_id={bob_id}")
            assert seen.json()["threads"] == 1


async def test_rate_limit_per_user_with_retry_after(served: Served) -> None:
    served.service.quotas.set_limits(2, None)
    alice, bob = await served.new_key("alice"), await served.new_key("bob")
    async with _client(served, alice) as as_alice, _client(served, bob) as as_bob:
        for _ in range(2):
            await submit(as_alice)
        limited = await as_alice.post("/api/orchestrate/prompt", json={"prompt": "again"})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        chat = await as_alice.post(
            "/v1/chat/completions",
            json={"model": "orchestratex/auto", "messages": [{"role": "user", "content": "x"}]},
        )
        assert chat.status_code == 429 and int(chat.headers["Retry-After"]) >= 1
        assert chat.json()["error"]["type"] == "rate_limit_error"
        await submit(as_bob)


async def test_budget_cap_enforced(served: Served) -> None:
    key = await served.new_key("frugal", budget_usd=10.0)
    async with _client(served, key) as http:
        first = await submit(http, "Explain binary search")
        await status_ended(http, first)
        detail = (await http.get(f"/api/threads/{first}")).json()["thread"]
        spent = detail["total_cost_usd"]
        assert spent > 0

        async def lower_budget() -> None:
            async with served.service.sessions() as session, session.begin():
                await session.execute(
                    update(User).where(User.id == detail["user_id"]).values(budget_usd=spent)
                )

        await served.acall(lower_budget)
        refused = await http.post("/api/orchestrate/prompt", json={"prompt": "more"})
        assert refused.status_code == 402
        assert refused.json()["error"]["code"] == "budget_exceeded"
        chat = await http.post(
            "/v1/chat/completions",
            json={"model": "orchestratex/auto", "messages": [{"role": "user", "content": "x"}]},
        )
        assert chat.status_code == 402
        listed = (await http.get("/api/threads")).json()
        assert listed["total"] == 1, "refused requests start no run"


async def test_websocket_keys_never_accepted_in_urls(served: Served) -> None:
    key = await served.new_key("alice")
    async with _client(served, key) as http:
        thread_id = await submit(http)
        await status_ended(http, thread_id)
    for path in (
        f"/ws/url-key?api_key={key}",
        f"/ws/url-key?token={key}",
        f"/ws/url-key?authorization=Bearer%20{key}",
        f"/ws/thread/{thread_id}?api_key={key}",
    ):
        messages, code = await _ws_messages(f"{served.ws_url}{path}", {})
        assert code == 4401, path
        assert messages == [
            {"type": "error", "code": "unauthorized", "message": messages[0]["message"]}
        ]
    accepted, code = await _ws_messages(f"{served.ws_url}/ws/thread/{thread_id}", bearer(key))
    assert accepted[0] == {"type": "ready", "session_id": accepted[0]["session_id"], "auth": "ok"}
    assert code == 1000
    by_message, code = await _ws_messages(
        f"{served.ws_url}/ws/thread/{thread_id}", {}, json.dumps({"type": "auth", "api_key": key})
    )
    assert by_message[0]["auth"] == "ok" and code == 1000
