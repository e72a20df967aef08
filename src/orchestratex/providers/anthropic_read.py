"""Anthropic Messages replies read from their JSON: a whole message, or a stream's events.

One place reads both shapes (the adapter sends through the `anthropic` SDK's client and hands
the raw JSON here), with the same rules: text blocks joined, `tool_use` blocks as tool calls,
stop reasons in chat-completions terms, token counts checked, and a JSON-format reply cut out
of any prose around it. A reply missing a part the service needs, or with a part of the wrong
type, is a MalformedResponseError.
"""

from __future__ import annotations

import json
from typing import Any

from orchestratex.core.types import RawCompletion, TextDelta, TokenUsage, ToolCall, ToolCallDelta
from orchestratex.providers.errors import CallContext, malformed
from orchestratex.providers.raw_reply import ToolCallParts, token_count

_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: object) -> str:
    """An Anthropic stop reason in chat-completions terms (unknown reasons pass through)."""
    if not isinstance(stop_reason, str) or not stop_reason:
        return "stop"
    return _STOP_REASONS.get(stop_reason, stop_reason)


def extract_json(text: str) -> str:
    """The JSON object inside `text` (code fences or surrounding prose dropped), else `text`."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return text
    candidate = text[start : end + 1]
    try:
        json.loads(candidate)
    except ValueError:
        return text
    return candidate


def _served(value: object, model_id: str) -> str:
    return value if isinstance(value, str) and value else model_id


def _text(value: object, ctx: CallContext) -> str:
    if not isinstance(value, str):
        raise malformed(ctx, "a text block's text is not a string")
    return value


def _tool_head(block: dict[str, Any], ctx: CallContext) -> tuple[str, str]:
    call_id, name = block.get("id"), block.get("name")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
        raise malformed(ctx, "a tool_use block has no id or name")
    return call_id, name


def parse_message(
    data: object, model_id: str, ctx: CallContext, *, json_reply: bool = False
) -> RawCompletion:
    """A whole Messages reply (JSON) as a RawCompletion. With `json_reply`, the text is the
    JSON object cut out of it (the Messages API has no JSON mode)."""
    if not isinstance(data, dict):
        raise malformed(ctx, "the answer is not a JSON object")
    content, usage = data.get("content"), data.get("usage")
    if not isinstance(content, list):
        raise malformed(ctx, "the answer has no content blocks")
    if not isinstance(usage, dict):
        raise malformed(ctx, "the answer has no token usage")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        if not isinstance(block, dict):
            raise malformed(ctx, "a content block is not a JSON object")
        kind = block.get("type")
        if kind == "text":
            texts.append(_text(block.get("text"), ctx))
        elif kind == "tool_use":
            call_id, name = _tool_head(block, ctx)
            arguments = json.dumps(block.get("input", {}))
            calls.append(ToolCall(id=call_id, name=name, arguments=arguments))
    text = "".join(texts)
    return RawCompletion(
        text=extract_json(text) if json_reply else text,
        usage=TokenUsage(
            input_tokens=token_count(usage, "input_tokens", ctx),
            output_tokens=token_count(usage, "output_tokens", ctx),
        ),
        finish_reason=finish_reason(data.get("stop_reason")),
        provider_model=_served(data.get("model"), model_id),
        tool_calls=calls,
    )


class MessageEvents:
    """Folds the events of one streamed Messages reply (as JSON objects, in order).

    `add` returns the delta an event carries for the caller (text, or a tool call's head or
    arguments piece), else None; `completion` is the whole reply once the stream has ended.
    Input tokens come from `message_start`, output tokens from the last `message_delta` (the
    API's counts there are cumulative), the stop reason from `message_delta`.
    """

    def __init__(self, model_id: str, ctx: CallContext) -> None:
        self._ctx = ctx
        self._parts: list[str] = []
        self._calls = ToolCallParts()
        self._positions: dict[int, int] = {}
        """Tool calls' positions among the calls, by content-block index."""
        self._input_tokens: int | None = None
        self._output_tokens = 0
        self._finish = "stop"
        self._served = model_id
        self._stopped = False

    def add(self, event: dict[str, Any]) -> TextDelta | ToolCallDelta | None:
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event["delta"]
            delta_kind = delta.get("type")
            if delta_kind == "text_delta":
                text = _text(delta.get("text"), self._ctx)
                self._parts.append(text)
                return TextDelta(text=text)
            if delta_kind == "input_json_delta":
                position = self._positions.get(event["index"])
                if position is None:
                    return None
                part = ToolCallDelta(index=position, arguments=delta["partial_json"])
                self._calls.add(part)
                return part
        elif kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                call_id, name = _tool_head(block, self._ctx)
                position = self._positions[event["index"]] = len(self._positions)
                head = ToolCallDelta(index=position, id=call_id, name=name)
                self._calls.add(head)
                return head
        elif kind == "message_start":
            message = event["message"]
            usage = message["usage"]
            self._input_tokens = token_count(usage, "input_tokens", self._ctx)
            if usage.get("output_tokens") is not None:
                self._output_tokens = token_count(usage, "output_tokens", self._ctx)
            self._served = _served(message.get("model"), self._served)
        elif kind == "message_delta":
            self._output_tokens = token_count(event["usage"], "output_tokens", self._ctx)
            self._finish = finish_reason(event["delta"].get("stop_reason"))
        elif kind == "message_stop":
            self._stopped = True
        return None

    def completion(self, *, json_reply: bool = False) -> RawCompletion:
        """The whole reply; MalformedResponseError when the stream never reached
        `message_stop` (or never said its input tokens)."""
        if not self._stopped or self._input_tokens is None:
            raise malformed(self._ctx, "the stream ended before message_stop (cut off?)")
        text = "".join(self._parts)
        return RawCompletion(
            text=extract_json(text) if json_reply else text,
            usage=TokenUsage(input_tokens=self._input_tokens, output_tokens=self._output_tokens),
            finish_reason=self._finish,
            provider_model=self._served,
            tool_calls=self._calls.finished(),
        )
