"""Reading Anthropic Messages JSON: whole replies and stream events (pure functions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestratex.core.errors import MalformedResponseError
from orchestratex.core.types import TextDelta, TokenUsage, ToolCallDelta
from orchestratex.providers.anthropic_read import MessageEvents, finish_reason, parse_message
from orchestratex.providers.errors import CallContext

CTX = CallContext("fake-anthropic", "claude-x")


def _message(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "model": "claude-x-2026",
        "content": [
            {"type": "text", "text": "Here: "},
            {"type": "thinking", "thinking": "not part of the answer"},
            {"type": "text", "text": '{"a": 1} done'},
            {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"q": "x"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 12, "output_tokens": 7, "cache_read_input_tokens": 3},
    }
    message.update(changes)
    return message


def test_a_whole_message() -> None:
    raw = parse_message(_message(), "claude-x", CTX)
    assert raw.text == 'Here: {"a": 1} done'
    assert raw.usage == TokenUsage(input_tokens=12, output_tokens=7)
    assert raw.finish_reason == "tool_calls" and raw.provider_model == "claude-x-2026"
    [call] = raw.tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == ("toolu_1", "get", {"q": "x"})
    assert parse_message(_message(), "claude-x", CTX, json_reply=True).text == '{"a": 1}'
    assert parse_message(_message(model=None), "claude-x", CTX).provider_model == "claude-x"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
        (None, "stop"),
    ],
)
def test_stop_reasons(reason: str | None, expected: str) -> None:
    assert finish_reason(reason) == expected


@pytest.mark.parametrize(
    "broken",
    [
        [1, 2],
        _message(content=None),
        _message(usage=None),
        _message(usage={"input_tokens": 3}),
        _message(usage={"input_tokens": -1, "output_tokens": 2}),
        _message(usage={"input_tokens": True, "output_tokens": 2}),
        _message(content=["text"]),
        _message(content=[{"type": "text", "text": 5}]),
        _message(content=[{"type": "tool_use", "name": "get", "input": {}}]),
    ],
)
def test_a_message_missing_a_needed_part_is_malformed(broken: Any) -> None:
    with pytest.raises(MalformedResponseError, match="claude-x"):
        parse_message(broken, "claude-x", CTX)


def _events(*, stop: bool = True) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"model": "claude-x-2026", "usage": {"input_tokens": 9, "output_tokens": 1}},
        },
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"q": '},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"x"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 15},
        },
    ]
    return events + ([{"type": "message_stop"}] if stop else [])


def test_stream_events_fold_into_deltas_and_one_completion() -> None:
    folded = MessageEvents("claude-x", CTX)
    parts = [part for event in _events() if (part := folded.add(event)) is not None]
    assert parts == [
        TextDelta(text="Hi"),
        ToolCallDelta(index=0, id="toolu_1", name="get"),
        ToolCallDelta(index=0, arguments='{"q": '),
        ToolCallDelta(index=0, arguments='"x"}'),
    ]
    raw = folded.completion()
    assert raw.text == "Hi" and raw.finish_reason == "tool_calls"
    assert raw.usage == TokenUsage(input_tokens=9, output_tokens=15)
    assert raw.provider_model == "claude-x-2026"
    assert [(c.id, c.name, c.arguments) for c in raw.tool_calls] == [
        ("toolu_1", "get", '{"q": "x"}')
    ]


def test_a_stream_without_message_stop_is_malformed() -> None:
    folded = MessageEvents("claude-x", CTX)
    for event in _events(stop=False):
        folded.add(event)
    with pytest.raises(MalformedResponseError, match="before message_stop"):
        folded.completion()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message_start", "message": {"usage": {"output_tokens": 1}}},
        {"type": "message_delta", "delta": {}, "usage": {"output_tokens": "many"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use"}},
    ],
)
def test_an_event_missing_a_needed_part_is_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        MessageEvents("claude-x", CTX).add(event)
