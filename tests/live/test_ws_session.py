"""The multiplexed /ws/{session_id} connection: subscriptions, heartbeats, limits and stats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from orchestratex.runtime.ws_hub import MAX_FRAME_BYTES, MAX_SUBSCRIPTIONS
from tests.live.conftest import Live, receive_type, receive_until_close
from tests.waiting import until_sync


def test_subscribe_and_unsubscribe_two_threads(live: Live) -> None:
    live.fake.options.latency_ms = 150
    first, second = live.submit("first prompt"), live.submit("second prompt")
    with live.client.websocket_connect("/ws/dash-1") as ws:
        assert ws.receive_json() == {"type": "ready", "session_id": "dash-1", "auth": "disabled"}
        ws.send_json({"type": "subscribe", "thread_id": first})
        ws.send_json({"type": "subscribe", "thread_id": second})
        ws.send_json({"type": "ping"})
        seen: list[dict[str, Any]] = []
        unsubscribed = False
        done = False
        while not done:
            message = ws.receive_json()
            seen.append(message)
            is_event = message["type"] == "event"
            if is_event and message["event"]["thread_id"] == first and not unsubscribed:
                ws.send_json({"type": "unsubscribe", "thread_id": first})
                unsubscribed = True
            if message["type"] == "event" and message["event"]["thread_id"] == second:
                done = message["event"]["type"] == "completed"

    kinds = [m["type"] for m in seen]
    assert "pong" in kinds
    subscribed = {m["thread_id"] for m in seen if m["type"] == "subscribed"}
    assert subscribed == {first, second}
    gone = [i for i, m in enumerate(seen) if m["type"] == "unsubscribed"]
    assert len(gone) == 1 and seen[gone[0]]["thread_id"] == first
    after = [m for m in seen[gone[0] :] if m["type"] == "event"]
    assert all(m["event"]["thread_id"] == second for m in after), "no events after unsubscribe"
    second_seqs = [
        m["event"]["seq"]
        for m in seen
        if m["type"] == "event" and m["event"]["thread_id"] == second
    ]
    assert second_seqs == sorted(set(second_seqs))


def test_heartbeat_arrives(live: Live) -> None:
    live.hub.heartbeat_s = 0.05
    with live.client.websocket_connect("/ws/beat") as ws:
        ws.receive_json()
        beat = receive_type(ws, "heartbeat", limit=5)
    assert datetime.fromisoformat(beat["ts"]).tzinfo is not None


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '{"no": "type"}',
        '{"type": "shout"}',
        '{"type": "subscribe"}',
        '{"type": "subscribe", "thread_id": 7}',
        '{"type": "subscribe", "thread_id": "x", "after_seq": -1}',
    ],
)
def test_invalid_message_gets_an_error_and_the_connection_stays(live: Live, frame: str) -> None:
    with live.client.websocket_connect("/ws/bad-input") as ws:
        ws.receive_json()
        ws.send_text(frame)
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_message"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "invalid_message"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_oversized_frame_closes_1009_and_the_service_still_serves(live: Live) -> None:
    with live.client.websocket_connect("/ws/big") as ws:
        ws.receive_json()
        ws.send_text('{"type": "ping", "pad": "' + "x" * MAX_FRAME_BYTES + '"}')
        messages, code = receive_until_close(ws)
    assert code == 1009 and messages == []
    with live.client.websocket_connect("/ws/big") as ws:
        ws.receive_json()
        ws.send_json({"type": "ping", "pad": "x" * (MAX_FRAME_BYTES - 100)})
        assert ws.receive_json() == {"type": "pong"}, "a frame under the limit is fine"
    assert live.client.get("/healthz").status_code == 200


def test_too_many_subscriptions(live: Live) -> None:
    assert live.hub.max_subscriptions == MAX_SUBSCRIPTIONS == 50
    live.hub.max_subscriptions = 2
    live.fake.options.latency_ms = 200
    threads = [live.submit(f"prompt {i}") for i in range(3)]
    with live.client.websocket_connect("/ws/greedy") as ws:
        ws.receive_json()
        for thread_id in threads:
            ws.send_json({"type": "subscribe", "thread_id": thread_id})
        error = receive_type(ws, "error")
        assert error["code"] == "too_many_subscriptions"
        ws.send_json({"type": "unsubscribe", "thread_id": threads[0]})
        receive_type(ws, "unsubscribed")
        ws.send_json({"type": "subscribe", "thread_id": threads[2]})
        while (message := ws.receive_json())["type"] != "error":
            if message["type"] == "subscribed" and message["thread_id"] == threads[2]:
                break  # a freed slot can be used again
        assert message["type"] == "subscribed", message


def test_invalid_session_id_is_refused(live: Live) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        live.client.websocket_connect("/ws/" + "x" * 65),
    ):
        pass
    assert refused.value.code == 1008


def _stats(live: Live) -> dict[str, int]:
    response = live.client.get("/api/ws/stats")
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


def test_stats_count_connections_subscriptions_and_messages(live: Live) -> None:
    live.fake.options.latency_ms = 300
    thread_id = live.submit()
    before = _stats(live)
    with live.client.websocket_connect("/ws/counted") as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe", "thread_id": thread_id})
        receive_type(ws, "subscribed")
        ws.send_json({"type": "ping"})
        receive_type(ws, "pong")
        during = _stats(live)
    assert during["connections"] == before["connections"] + 1 == 1
    assert during["subscriptions"] == 1
    assert during["connections_total"] == before["connections_total"] + 1
    assert during["messages_received"] >= before["messages_received"] + 2
    assert during["messages_sent"] >= before["messages_sent"] + 3

    def closed() -> dict[str, Any] | None:
        found = _stats(live)
        return found if found["connections"] == 0 else None

    after = until_sync(closed, what="the closed connection no longer counted", timeout_s=5)
    assert after["subscriptions"] == 0 and after["connections_total"] == 1
