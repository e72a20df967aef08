"""WebSocket authentication (header or first message) and per-user visibility of threads."""

from __future__ import annotations

import pytest

from orchestratex.runtime.auth import revoke_key
from tests.live.conftest import Live, bearer, receive_until_close


@pytest.fixture
def keys(live: Live) -> dict[str, str]:
    return {
        "admin": live.new_key("admin", admin=True),
        "alice": live.new_key("alice"),
        "bob": live.new_key("bob"),
    }


def _refused(messages: list[dict[str, object]], code: int) -> None:
    assert code == 4401
    assert messages[-1]["type"] == "error" and messages[-1]["code"] == "unauthorized"
    assert not any(m["type"] == "ready" for m in messages)


def test_without_auth_the_socket_is_closed_4401(live: Live, keys: dict[str, str]) -> None:
    with live.client.websocket_connect("/ws/anon") as ws:
        ws.send_json({"type": "subscribe", "thread_id": "anything"})
        _refused(*receive_until_close(ws))


def test_auth_times_out(live: Live, keys: dict[str, str]) -> None:
    live.hub.auth_timeout_s = 0.1
    with live.client.websocket_connect("/ws/silent") as ws:
        _refused(*receive_until_close(ws))


def test_wrong_keys_are_refused(live: Live, keys: dict[str, str]) -> None:
    with live.client.websocket_connect("/ws/wrong", headers=bearer("orx_not-a-key")) as ws:
        _refused(*receive_until_close(ws))
    with live.client.websocket_connect("/ws/wrong") as ws:
        ws.send_json({"type": "auth", "api_key": keys["alice"] + "x"})
        messages, code = receive_until_close(ws)
        _refused(messages, code)
    assert keys["alice"] not in str(messages), "the key is never echoed"


def test_first_message_auth(live: Live, keys: dict[str, str]) -> None:
    with live.client.websocket_connect("/ws/browser") as ws:
        ws.send_json({"type": "auth", "api_key": keys["alice"]})
        assert ws.receive_json() == {"type": "ready", "session_id": "browser", "auth": "ok"}
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_header_auth(live: Live, keys: dict[str, str]) -> None:
    with live.client.websocket_connect("/ws/cli", headers=bearer(keys["bob"])) as ws:
        assert ws.receive_json() == {"type": "ready", "session_id": "cli", "auth": "ok"}


def test_a_user_cannot_follow_another_users_thread(live: Live, keys: dict[str, str]) -> None:
    bobs = live.submit("bob's secret prompt", headers=bearer(keys["bob"]))
    with live.client.websocket_connect("/ws/alice", headers=bearer(keys["alice"])) as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe", "thread_id": bobs})
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "thread_not_found"
        ws.send_json({"type": "subscribe", "thread_id": "unknown-thread"})
        assert ws.receive_json() == error, "exactly like an unknown thread"
    path = f"/ws/thread/{bobs}"
    with live.client.websocket_connect(path, headers=bearer(keys["alice"])) as ws:
        messages, code = receive_until_close(ws)
    assert code == 4404 and messages[-1]["code"] == "thread_not_found"
    with live.client.websocket_connect(path, headers=bearer(keys["bob"])) as ws:
        messages, code = receive_until_close(ws)
    assert code == 1000 and messages[-1]["event"]["type"] == "completed"
    with live.client.websocket_connect(path, headers=bearer(keys["admin"])) as ws:
        messages, code = receive_until_close(ws)
    assert code == 1000 and messages[1]["type"] == "subscribed", "an admin sees every thread"


def test_stats_need_an_admin(live: Live, keys: dict[str, str]) -> None:
    assert live.client.get("/api/ws/stats").status_code == 401
    assert live.client.get("/api/ws/stats", headers=bearer(keys["alice"])).status_code == 403
    response = live.client.get("/api/ws/stats", headers=bearer(keys["admin"]))
    assert response.status_code == 200
    assert set(response.json()) == {
        "connections",
        "subscriptions",
        "messages_sent",
        "messages_received",
        "connections_total",
    }


def test_a_revoked_key_cannot_subscribe_on_a_socket_opened_before(
    live: Live, keys: dict[str, str]
) -> None:
    thread = live.submit("alice's prompt", headers=bearer(keys["alice"]))

    async def revoke() -> int:
        async with live.service.sessions() as session:
            return await revoke_key(session, keys["alice"][:12])

    with live.client.websocket_connect("/ws/alice", headers=bearer(keys["alice"])) as ws:
        assert ws.receive_json()["type"] == "ready"
        assert live.client.portal is not None and live.client.portal.call(revoke) == 1
        ws.send_json({"type": "subscribe", "thread_id": thread})
        _refused(*receive_until_close(ws))
    with live.client.websocket_connect("/ws/overflow", headers=bearer(keys["bob"])) as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe", "thread_id": thread, "after_seq": 2**63})
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_message"
