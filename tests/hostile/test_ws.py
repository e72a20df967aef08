"""Hostile WebSocket clients: oversized and malformed frames, subscription floods, churn."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from orchestratex.api.routes.ws import hub_of
from orchestratex.runtime.ws_hub import (
    MAX_CONNECTIONS_PER_USER,
    MAX_FRAME_BYTES,
    MESSAGE_BURST,
    MESSAGES_PER_S,
)
from tests.hostile.conftest import Target, submit
from tests.hostile.server import bearer
from tests.waiting import until


def _open(target: Target, path: str, key: str | None = None) -> Any:
    headers = bearer(key or target.key)
    return connect(f"{target.served.ws_url}{path}", additional_headers=headers, proxy=None)


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 15))
    return message


async def _until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Messages up to and including the first of type `kind`."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != kind:
        seen.append(await _recv(ws))
    return seen


async def _close_code(ws: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 15)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_oversized_frames_close_1009(target: Target) -> None:
    for frame in (
        json.dumps({"type": "ping", "pad": "x" * MAX_FRAME_BYTES}),
        "é" * (MAX_FRAME_BYTES // 2 + 1),
        b"\x00" * (MAX_FRAME_BYTES + 1),
    ):
        async with _open(target, "/ws/big") as ws:
            assert (await _recv(ws))["type"] == "ready"
            await ws.send(frame)
            assert await _close_code(ws) == 1009
    async with _open(target, "/ws/after") as ws:
        await _recv(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv(ws))["type"] == "pong"
    await target.assert_intact()


MALFORMED: list[str | bytes] = [
    "not json",
    "",
    "[1, 2]",
    "null",
    '"subscribe"',
    '{"no_type": 1}',
    '{"type": 5}',
    '{"type": null}',
    '{"type": "explode"}',
    '{"type": "subscribe"}',
    '{"type": "subscribe", "thread_id": 42}',
    '{"type": "subscribe", "thread_id": ""}',
    json.dumps({"type": "subscribe", "thread_id": "t" * 200}),
    '{"type": "subscribe", "thread_id": "abc", "after_seq": "x"}',
    '{"type": "subscribe", "thread_id": "abc", "after_seq": -1}',
    '{"type": "subscribe", "thread_id": "abc", "after_seq": 1.5}',
    '{"type": "unsubscribe"}',
    '{"type": "ping"',
    b"\x00\x01\x02",
    b'{"type": "ping"}',
]


async def test_malformed_frames_get_errors_and_the_connection_stays(target: Target) -> None:
    async with _open(target, "/ws/malformed") as ws:
        assert (await _recv(ws))["type"] == "ready"
        for frame in MALFORMED:
            await ws.send(frame)
            reply = await _recv(ws)
            assert reply["type"] == "error" and reply["code"] == "invalid_message", (frame, reply)
        for thread_id in ("nope", "../../etc/passwd", "\u202e\u0000", "\udc00", "a" * 128):
            await ws.send(json.dumps({"type": "subscribe", "thread_id": thread_id}))
            reply = await _recv(ws)
            assert reply == {
                "type": "error",
                "code": "thread_not_found",
                "message": reply["message"],
            }
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv(ws))["type"] == "pong"
        await ws.send(json.dumps({"type": "subscribe", "thread_id": target.thread_id}))
        seen = await _until(ws, "subscribed")
        assert seen[-1]["thread_id"] == target.thread_id
    async with _open(target, "/ws/thread/nope") as ws:
        messages = [await _recv(ws), await _recv(ws)]
        assert messages[1]["code"] == "thread_not_found"
        assert await _close_code(ws) == 4404
    for bad_session in ("a" * 65, "bad%20id", "%F0%9F%92%A9"):
        # Refused before the handshake completes (a close before accept is an HTTP 403).
        with pytest.raises(InvalidStatus) as refused:
            async with _open(target, f"/ws/{bad_session}"):
                pass
        assert refused.value.response.status_code == 403
    await target.assert_intact()


async def test_subscription_flood(target: Target) -> None:
    hub = hub_of(target.served.app)
    hub.max_subscriptions = 2
    hub.message_burst = 1000  # the pace is tested below; here every message is answered
    target.served.fake.options.latency_ms = 1500
    live = [await submit(target.http, f"Question number {i}") for i in range(3)]
    async with _open(target, "/ws/flood") as ws:
        await _recv(ws)
        for thread_id in live:
            await ws.send(json.dumps({"type": "subscribe", "thread_id": thread_id}))
        for i in range(300):
            flood = {"type": "subscribe", "thread_id": live[i % 3] if i % 2 else f"x{i}"}
            await ws.send(json.dumps(flood))
        await ws.send(json.dumps({"type": "ping"}))
        seen = await _until(ws, "pong")
        codes = [m["code"] for m in seen if m["type"] == "error"]
        assert "too_many_subscriptions" in codes
        assert codes.count("thread_not_found") == 150
        stats = target.served.app.state.ws_hub.stats()
        assert stats.subscriptions <= 2
    hub.message_burst = MESSAGE_BURST
    target.served.fake.options.latency_ms = 0
    for thread_id in live:
        await target.http.post(f"/api/orchestrate/{thread_id}/cancel")
    await target.assert_intact()


async def test_a_flood_of_messages_is_read_at_the_pace(target: Target) -> None:
    hub = hub_of(target.served.app)
    hub.messages_per_s, hub.message_burst = 2.0, 5
    try:
        # The server reads the close frame only after the flood, at the pace: do not wait.
        url = f"{target.served.ws_url}/ws/paced"
        async with connect(
            url, additional_headers=bearer(target.key), proxy=None, close_timeout=0.1
        ) as ws:
            await _recv(ws)
            start = hub.messages_received
            for _ in range(100):
                await ws.send(json.dumps({"type": "ping"}))
            pongs = [await _recv(ws) for _ in range(6)]
            assert [m["type"] for m in pongs] == ["pong"] * 6, "the burst is answered, then more"
            # The rest is read two a second, about 47 s for the flood (unpaced: well under 1 s).
            with pytest.raises(AssertionError, match="the whole flood read"):
                await until(
                    lambda: hub.messages_received - start >= 100,
                    what="the whole flood read",
                    timeout_s=3,
                )
    finally:
        hub.messages_per_s, hub.message_burst = MESSAGES_PER_S, MESSAGE_BURST
    await target.assert_intact()


async def test_connections_of_one_key_are_capped(target: Target) -> None:
    hub = hub_of(target.served.app)
    hub.max_connections_per_user = 2
    key = await target.served.new_key("many-sockets")
    try:
        async with (
            _open(target, "/ws/cap-1", key=key) as one,
            _open(target, "/ws/cap-2", key=key) as two,
        ):
            # Both admitted before the third connects (each is admitted as it authenticates).
            assert (await _recv(one))["type"] == "ready"
            assert (await _recv(two))["type"] == "ready"
            async with _open(target, "/ws/cap-3", key=key) as third:
                refused = await _recv(third)
                assert refused["code"] == "too_many_connections", refused
                assert await _close_code(third) == 1013
            async with _open(target, "/ws/cap-other") as other:
                assert (await _recv(other))["type"] == "ready", "another key is not counted"
        async with _open(target, "/ws/cap-again", key=key) as again:
            assert (await _recv(again))["type"] == "ready", "closed connections are released"
    finally:
        hub.max_connections_per_user = MAX_CONNECTIONS_PER_USER
    await target.assert_intact()


async def test_many_connections_open_and_close(target: Target) -> None:
    admin = await target.served.new_key("ops", admin=True)
    hub_of(target.served.app).auth_timeout_s = 0.5

    async def churn(i: int) -> None:
        if i % 3 == 0:
            async with _open(target, f"/ws/churn-{i}") as ws:
                await _recv(ws)
        elif i % 3 == 1:
            async with _open(target, f"/ws/churn-{i}", key="orx_wrong") as ws:
                assert await _close_code(ws) == 4401
        else:
            async with _open(target, f"/ws/thread/{target.thread_id}") as ws:
                assert await _close_code(ws) == 1000

    for batch in range(3):
        await asyncio.gather(*(churn(batch * 20 + i) for i in range(20)))

    async def all_closed() -> dict[str, Any] | None:
        stats: dict[str, Any] = (
            await target.http.get("/api/ws/stats", headers=bearer(admin))
        ).json()
        return stats if stats["connections"] == 0 else None

    stats = await until(all_closed, what="every connection closed")
    assert stats["subscriptions"] == 0
    assert stats["connections_total"] >= 60
    async with _open(target, "/ws/after-churn") as ws:
        assert (await _recv(ws))["auth"] == "ok"
    await target.assert_intact()
