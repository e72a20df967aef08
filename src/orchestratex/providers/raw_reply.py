"""Reading provider replies as plain JSON, shared by both wire adapters.

Both adapters send through their official SDK's client (its auth headers, base URL, timeouts
and status-error mapping) but read the reply's JSON themselves: the SDKs' typed response models
cost more CPU than the rest of a passthrough call. What both need lives here: the server-sent
event reader, the token-count check and the assembly of streamed tool calls.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Protocol

import httpx2

from orchestratex.core.types import ToolCall, ToolCallDelta
from orchestratex.providers.errors import CallContext, malformed


class StreamErrorType(Protocol):
    """An SDK's `APIError` class (`openai.APIError`, `anthropic.APIError`): what a stream
    raises for an event that carries an error, as the SDK's own stream would."""

    def __call__(
        self, message: str, request: httpx2.Request, *, body: object | None
    ) -> Exception: ...


async def sse_objects(
    response: httpx2.Response, error: StreamErrorType
) -> AsyncIterator[dict[str, Any]]:
    """The JSON object of each server-sent event of `response`, up to `[DONE]`.

    Event names (`event:`) are not read: both dialects repeat what matters in the object (an
    Anthropic event's `type`). An object that carries `error` (a provider failing mid-stream:
    OpenAI's `{"error": ...}`, Anthropic's `error` event) raises `error`; a `data` that is not
    a JSON object raises ValueError (mapped to a malformed answer)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
        elif not line and data:
            text = "\n".join(data)
            data = []
            if text.startswith("[DONE]"):
                return
            yield _event_object(text, response, error)
        # else `event:`, `id:`, a comment, or a blank line with nothing pending
    if data and not data[0].startswith("[DONE]"):
        yield _event_object("\n".join(data), response, error)


def _event_object(text: str, response: httpx2.Response, error: StreamErrorType) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stream event is not a JSON object")
    failure = value.get("error")
    if failure:
        message = failure.get("message") if isinstance(failure, dict) else None
        raise error(
            str(message or "an error occurred during streaming"), response.request, body=failure
        )
    return value


def token_count(usage: dict[str, Any], name: str, ctx: CallContext) -> int:
    """`usage[name]` when it is a whole number of tokens, else a malformed-answer error."""
    value = usage.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise malformed(ctx, f"the answer's usage has no valid {name}")
    return value


class ToolCallParts:
    """Tool calls assembled from their streamed pieces, by index."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}

    def add(self, delta: ToolCallDelta) -> None:
        call = self._calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
        call["id"] = delta.id or call["id"]
        call["name"] = delta.name or call["name"]
        call["arguments"] += delta.arguments

    def finished(self) -> list[ToolCall]:
        """The whole calls in index order; ValueError when one never got its id or name."""
        calls = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call["id"] or not call["name"]:
                raise ValueError(f"streamed tool call {index} has no id or name")
            calls.append(
                ToolCall(id=call["id"], name=call["name"], arguments=call["arguments"] or "{}")
            )
        return calls
