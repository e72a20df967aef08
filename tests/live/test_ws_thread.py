"""Following one thread over /ws/thread/{id}: order, replay for late subscribers, close codes."""

from __future__ import annotations

from typing import Any

from orchestratex.store.tables import Thread
from tests.live.conftest import Live, receive_until_close


def _events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["event"] for m in messages if m["type"] == "event"]


def _watch(live: Live, thread_id: str) -> tuple[list[dict[str, Any]], int]:
    with live.client.websocket_connect(f"/ws/thread/{thread_id}") as ws:
        return receive_until_close(ws)


def _assert_late_view(late: list[dict[str, Any]], full: list[dict[str, Any]]) -> None:
    """A late view is the full one minus some chunks: in order, no duplicates, nothing else lost."""
    late_seqs = [e["seq"] for e in late]
    assert late_seqs == sorted(set(late_seqs)), "in order, without duplicates"
    by_seq = {e["seq"]: e for e in full}
    assert all(by_seq[e["seq"]] == e for e in late), "the same events as the live watcher saw"
    missing = [e for e in full if e["seq"] not in set(late_seqs)]
    assert all(e["type"] == "response_chunk" for e in missing), "only chunks may be absent"


def test_whole_run_in_order_then_close_1000(live: Live) -> None:
    live.fake.options.latency_ms = 100
    thread_id = live.submit()
    messages, code = _watch(live, thread_id)

    assert code == 1000
    ready, subscribed = messages[0], messages[1]
    assert ready["type"] == "ready" and ready["auth"] == "disabled" and ready["session_id"]
    assert subscribed["type"] == "subscribed" and subscribed["thread_id"] == thread_id
    assert subscribed["status"] in ("queued", "running")
    events = _events(messages)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "gap-free from 1"
    assert events[0]["type"] == "started"
    assert events[-1]["type"] == "completed"
    assert messages[-1]["type"] == "event", "nothing after the terminal event"
    assert all(e["thread_id"] == thread_id for e in events)
    assert {"analysis", "selection", "response_chunk", "response", "evaluation"} <= {
        e["type"] for e in events
    }


def test_late_subscriber_after_completion_gets_the_stored_events(live: Live) -> None:
    live.fake.options.latency_ms = 50
    thread_id = live.submit()
    full = _events(_watch(live, thread_id)[0])
    live.wait_finished(thread_id)

    messages, code = _watch(live, thread_id)
    assert code == 1000
    subscribed = messages[1]
    late = _events(messages)
    assert subscribed["status"] == "completed"
    assert subscribed["replayed"] == len(late) > 0
    assert late[-1]["type"] == "completed"
    assert [e["seq"] for e in late] == list(range(1, late[-1]["seq"] + 1)), "chunks are stored"
    _assert_late_view(late, full)


def test_mid_run_subscriber_gets_missed_then_live_events_once(live: Live) -> None:
    # Slow enough that round 2's chunks are still ahead when the late subscriber has joined,
    # even on a loaded machine (at 150 ms a run could end while it was joining).
    live.fake.options.latency_ms = 600
    thread_id = live.submit(max_rounds=2, threshold=10.0)
    with live.client.websocket_connect(f"/ws/thread/{thread_id}") as first:
        first.receive_json()  # ready
        live.wait_seq(thread_id, 5)
        late_messages, late_code = _watch(live, thread_id)
        full_messages, full_code = receive_until_close(first)

    assert late_code == full_code == 1000
    full, late = _events(full_messages), _events(late_messages)
    replayed = late_messages[1]["replayed"]
    assert replayed >= 4, "the missed events came from the store"
    assert len(late) > replayed, "then live events followed"
    assert any(e["type"] == "response_chunk" for e in late[replayed:]), "live chunks arrive"
    assert late[-1]["type"] == "completed"
    _assert_late_view(late, full)


def test_unknown_thread_is_an_error_then_close(live: Live) -> None:
    messages, code = _watch(live, "no-such-thread")
    assert code == 4404
    assert messages[-1] == {
        "type": "error",
        "code": "thread_not_found",
        "message": "no such thread",
    }


def test_interrupted_thread_replays_and_closes(live: Live) -> None:
    """A thread that will never end (left by a stopped process) is replayed, then closed."""

    async def add() -> None:
        async with live.service.sessions() as session, session.begin():
            session.add(Thread(id="old-thread", status="interrupted", prompt_preview="x"))

    assert live.client.portal is not None
    live.client.portal.call(add)
    messages, code = _watch(live, "old-thread")
    assert code == 1000
    assert messages[1]["type"] == "subscribed"
    assert messages[1]["status"] == "interrupted" and messages[1]["replayed"] == 0
    assert _events(messages) == []
