"""Server-Sent Events: a whole run with ids, Last-Event-ID resume, heartbeats, 404s."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestratex.core.events import parse_event
from tests.live.conftest import Live, bearer


def _read(live: Live, thread_id: str, headers: dict[str, str] | None = None) -> str:
    url = f"/api/orchestrate/{thread_id}/events"
    with live.client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return "".join(response.iter_text())


def _messages(body: str) -> list[dict[str, Any]]:
    """Parse the stream into messages with their fields; comments count as `comment`."""
    messages: list[dict[str, Any]] = []
    for block in body.split("\n\n"):
        if not block:
            continue
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        messages.append(fields)
    assert body.endswith("\n\n")
    return messages


def test_whole_run_with_ids(live: Live) -> None:
    live.fake.options.latency_ms = 100
    thread_id = live.submit()
    messages = [m for m in _messages(_read(live, thread_id)) if "comment" not in m]

    assert [m["event"] for m in messages][0] == "started"
    assert messages[-1]["event"] == "completed"
    ids = [int(m["id"]) for m in messages]
    assert ids == sorted(set(ids)) and ids[0] == 1
    for message in messages:
        event = parse_event(message["data"])
        assert event.seq == int(message["id"]) and event.type == message["event"]
        assert event.thread_id == thread_id
    assert {"analysis", "selection", "response", "evaluation"} <= {m["event"] for m in messages}


def test_last_event_id_resumes_after_that_seq(live: Live) -> None:
    live.fake.options.latency_ms = 50
    thread_id = live.submit()
    full = [m for m in _messages(_read(live, thread_id)) if "comment" not in m]
    live.wait_finished(thread_id)
    resumed = _messages(_read(live, thread_id, headers={"Last-Event-ID": "5"}))

    expected = [m for m in full if int(m["id"]) > 5]
    assert resumed == expected
    assert resumed[-1]["event"] == "completed"
    last = full[-1]["id"]
    assert _read(live, thread_id, headers={"Last-Event-ID": last}) == "", "nothing after the end"


def test_comment_heartbeats_while_idle(live: Live) -> None:
    live.hub.heartbeat_s = 0.05
    live.fake.options.latency_ms = 300
    messages = _messages(_read(live, live.submit()))
    assert {"comment": "ping"} in messages
    assert messages[-1]["event"] == "completed"


def test_unknown_thread_is_404(live: Live) -> None:
    response = live.client.get("/api/orchestrate/nope/events")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "thread_not_found"


def test_bad_last_event_id_is_400(live: Live) -> None:
    thread_id = live.submit()
    response = live.client.get(
        f"/api/orchestrate/{thread_id}/events", headers={"Last-Event-ID": "five"}
    )
    assert response.status_code == 400
    assert "five" not in response.text


@pytest.mark.parametrize("who", ["alice", "nobody"])
def test_other_users_thread_is_404_and_no_key_is_401(live: Live, who: str) -> None:
    bob = live.new_key("bob")
    thread_id = live.submit(headers=bearer(bob))
    url = f"/api/orchestrate/{thread_id}/events"
    if who == "alice":
        response = live.client.get(url, headers=bearer(live.new_key("alice")))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "thread_not_found"
    else:
        assert live.client.get(url).status_code == 401
    assert json.loads(_messages(_read(live, thread_id, bearer(bob)))[-1]["data"])["seq"] > 1
