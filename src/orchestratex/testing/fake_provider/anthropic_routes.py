"""Anthropic messages dialect: `POST /v1/messages` (JSON and SSE)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestratex.testing.fake_provider.behaviour import Reply, Turn, content_text, split_chunks
from orchestratex.testing.fake_provider.flow import Parsed, handle_completion
from orchestratex.testing.fake_provider.options import InjectedFault
from orchestratex.testing.fake_provider.shapes import FakeTool, OutputShape
from orchestratex.testing.fake_provider.state import FakeState

_JSON_MARK = "Answer with one JSON object only"
_SCHEMA_MARK = "It must match this JSON schema:\n"

_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "[fake provider] injected rate limit"),
    "server_error": (500, "api_error", "[fake provider] injected server error"),
    "timeout": (504, "timeout_error", "[fake provider] injected timeout"),
    "down": (500, "api_error", "[fake provider] model is down (test directive)"),
    "overloaded": (529, "overloaded_error", "[fake provider] injected overload"),
    "bad_request": (400, "invalid_request_error", "[fake provider] injected invalid request"),
}


class AnthropicWire:
    """Reads Messages API requests and shapes Anthropic-style replies."""

    cut_keep = 3

    def parse(self, body: object) -> Parsed:
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        model, messages, max_tokens = body["model"], body["messages"], body["max_tokens"]
        if not isinstance(model, str) or not isinstance(messages, list):
            raise TypeError("model must be a string and messages a list")
        if not isinstance(max_tokens, int):
            raise TypeError("max_tokens must be an integer")
        turns = [turn for m in messages if isinstance(m, dict) for turn in _turns(m)]
        system = content_text(body.get("system"))
        if system:
            turns.insert(0, Turn(role="system", text=system))
        return Parsed(
            model=model,
            turns=turns,
            stream=bool(body.get("stream", False)),
            max_tokens=max_tokens,
            structured=False,
            shape=_shape(body, system),
        )

    def bad_request(self, message: str) -> Response:
        return _error_json(400, "invalid_request_error", message)

    def error(self, fault: InjectedFault, retry_after_s: float) -> Response:
        status, kind, message = _ERRORS[fault]
        response = _error_json(status, kind, message)
        if status == 429:
            response.headers["retry-after"] = f"{retry_after_s:g}"
        return response

    def full_body(self, reply: Reply, model: str) -> dict[str, object]:
        blocks: list[dict[str, object]] = []
        if reply.text or not reply.tool_calls:
            blocks.append({"type": "text", "text": reply.text})
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": json.loads(c.arguments)}
            for c in reply.tool_calls
        ]
        return {
            **_message_head(model),
            "content": blocks,
            "stop_reason": _stop(reply),
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }

    def stream_events(self, reply: Reply, model: str) -> list[bytes]:
        start = {
            **_message_head(model),
            "content": [],
            "stop_reason": None,
            # As the API does: a first output count that message_delta's final one replaces.
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
        }
        events = [_event("message_start", {"message": start})]
        index = 0
        if reply.text or not reply.tool_calls:
            events.append(
                _event(
                    "content_block_start",
                    {"index": 0, "content_block": {"type": "text", "text": ""}},
                )
            )
            events += [
                _event(
                    "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}}
                )
                for t in split_chunks(reply.text)
            ]
            events.append(_event("content_block_stop", {"index": 0}))
            index = 1
        for offset, call in enumerate(reply.tool_calls):
            block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            at = index + offset
            events.append(_event("content_block_start", {"index": at, "content_block": block}))
            half = len(call.arguments) // 2
            for part in (call.arguments[:half], call.arguments[half:]):
                delta = {"type": "input_json_delta", "partial_json": part}
                events.append(_event("content_block_delta", {"index": at, "delta": delta}))
            events.append(_event("content_block_stop", {"index": at}))
        events.append(
            _event(
                "message_delta",
                {
                    "delta": {"stop_reason": _stop(reply), "stop_sequence": None},
                    "usage": {"output_tokens": reply.output_tokens},
                },
            )
        )
        events.append(_event("message_stop", {}))
        return events

    def broken_event(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {\n\n'

    def error_event(self) -> bytes:
        _, kind, message = _ERRORS["overloaded"]
        return _event("error", {"error": {"type": kind, "message": message}})


def anthropic_routes(state: FakeState) -> list[Route]:
    """The Anthropic-dialect routes bound to one server's state."""
    wire = AnthropicWire()

    async def messages(request: Request) -> Response:
        return await handle_completion(request, state, wire)

    return [Route("/v1/messages", messages, methods=["POST"])]


def _message_head(model: str) -> dict[str, object]:
    return {
        "id": f"msg_fake_{uuid.uuid4().hex[:16]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "stop_sequence": None,
    }


def _error_json(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"type": "error", "error": {"type": kind, "message": message}}, status_code=status
    )


def _stop(reply: Reply) -> str:
    if reply.tool_calls:
        return "tool_use"
    return "max_tokens" if reply.truncated else "end_turn"


def _turns(message: dict[str, object]) -> list[Turn]:
    """A message as turns: tool results become "tool" turns, the rest one turn of its text."""
    role, content = str(message.get("role", "")), message.get("content")
    if not isinstance(content, list):
        return [Turn(role=role, text=content_text(content))]
    turns: list[Turn] = []
    texts: list[object] = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            turns.append(Turn(role="tool", text=content_text(block.get("content"))))
        else:
            texts.append(block)
    text = content_text(texts)
    return [Turn(role=role, text=text)] + turns if text or not turns else turns


def _shape(body: dict[str, object], system: str) -> OutputShape:
    """Tools of a Messages body, and the JSON instruction the adapter puts in `system`."""
    schema = None
    if _SCHEMA_MARK in system:
        try:
            schema = json.loads(system.split(_SCHEMA_MARK, 1)[1])
        except ValueError:
            schema = None
    tools = tuple(
        FakeTool(name=str(t["name"]), parameters=t.get("input_schema"))
        for t in _list(body.get("tools"))
    )
    choice = body.get("tool_choice")
    mode = choice.get("type") if isinstance(choice, dict) else None
    named = choice.get("name") if isinstance(choice, dict) else None
    return OutputShape(
        json_mode=_JSON_MARK in system,
        json_schema=schema if isinstance(schema, dict) else None,
        tools=tools,
        tool_choice=str(named) if mode == "tool" else ("required" if mode == "any" else mode),
    )


def _event(name: str, payload: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n".encode()


def _list(value: object) -> list[Any]:
    if value is not None and not isinstance(value, list):
        raise TypeError("tools must be a list")
    return value or []
