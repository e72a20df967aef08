"""OpenAI chat-completions dialect: `POST /v1/chat/completions` (JSON and SSE)."""

from __future__ import annotations

import json
import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestratex.testing.fake_provider.behaviour import (
    Reply,
    Turn,
    content_text,
    split_chunks,
    split_tokens,
)
from orchestratex.testing.fake_provider.flow import Parsed, handle_completion
from orchestratex.testing.fake_provider.options import InjectedFault
from orchestratex.testing.fake_provider.shapes import (
    FakeTool,
    FakeToolCall,
    OutputShape,
    is_rubric_schema,
)
from orchestratex.testing.fake_provider.state import FakeState

_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_exceeded", "[fake provider] injected rate limit"),
    "server_error": (500, "server_error", "[fake provider] injected server error"),
    "timeout": (504, "timeout", "[fake provider] injected timeout"),
    "down": (500, "server_error", "[fake provider] model is down (test directive)"),
    "overloaded": (503, "server_error", "[fake provider] injected overload"),
    "bad_request": (400, "invalid_request_error", "[fake provider] injected invalid request"),
}


class OpenAIWire:
    """Reads chat-completion requests and shapes OpenAI-style replies."""

    cut_keep = 2

    def parse(self, body: object) -> Parsed:
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        model, messages = body["model"], body["messages"]
        if not isinstance(model, str) or not isinstance(messages, list):
            raise TypeError("model must be a string and messages a list")
        turns = [
            Turn(role=str(m.get("role", "")), text=content_text(m.get("content")))
            for m in messages
            if isinstance(m, dict)
        ]
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        shape = _shape(body)
        return Parsed(
            model=model,
            turns=turns,
            stream=bool(body.get("stream", False)),
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            structured=is_rubric_schema(shape.json_schema),
            shape=shape,
            logprobs=body.get("logprobs") is True,
        )

    def bad_request(self, message: str) -> Response:
        return _error_json(400, "invalid_request_error", "invalid_request", message)

    def error(self, fault: InjectedFault, retry_after_s: float) -> Response:
        status, code, message = _ERRORS[fault]
        response = _error_json(status, code, code, message)
        if status == 429:
            response.headers["retry-after"] = f"{retry_after_s:g}"
        return response

    def full_body(self, reply: Reply, model: str) -> dict[str, object]:
        return {
            "id": _new_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fake-provider",
            "choices": [
                {
                    "index": 0,
                    "message": _message(reply),
                    "finish_reason": _finish(reply),
                    "logprobs": _logprobs(reply, reply.text),
                }
            ],
            "usage": _usage(reply),
        }

    def stream_events(self, reply: Reply, model: str) -> list[bytes]:
        head = {
            "id": _new_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def chunk(
            delta: dict[str, object], finish: str | None = None, text: str | None = None
        ) -> bytes:
            logprobs = None if text is None else _logprobs(reply, text)
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}
            return _data({**head, "choices": [choice]})

        events = [chunk({"role": "assistant", "content": ""})]
        if reply.text or not reply.tool_calls:
            events += [chunk({"content": piece}, text=piece) for piece in split_chunks(reply.text)]
        for index, call in enumerate(reply.tool_calls):
            events += [chunk({"tool_calls": [part]}) for part in _call_pieces(index, call)]
        events.append(chunk({}, _finish(reply)))
        events.append(_data({**head, "choices": [], "usage": _usage(reply)}))
        events.append(b"data: [DONE]\n\n")
        return events

    def broken_event(self) -> bytes:
        return b'data: {"id": "chatcmpl-fake", "choices": [{"delta": \n\n'

    def error_event(self) -> bytes:
        _, code, message = _ERRORS["overloaded"]
        error = {"message": message, "type": code, "code": code}
        return b"data: " + json.dumps({"error": error}).encode() + b"\n\n"


def openai_routes(state: FakeState) -> list[Route]:
    """The OpenAI-dialect routes bound to one server's state."""
    wire = OpenAIWire()

    async def chat_completions(request: Request) -> Response:
        return await handle_completion(request, state, wire)

    return [Route("/v1/chat/completions", chat_completions, methods=["POST"])]


def _error_json(status: int, kind: str, code: str, message: str) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _logprobs(reply: Reply, text: str) -> dict[str, object] | None:
    """The `logprobs` of a choice (or of a chunk's `text`): every token at the planned value;
    None when the request did not ask for them."""
    if reply.logprob is None:
        return None
    content = [
        {"token": t, "logprob": reply.logprob, "bytes": list(t.encode()), "top_logprobs": []}
        for t in split_tokens(text)
    ]
    return {"content": content, "refusal": None}


def _finish(reply: Reply) -> str:
    if reply.tool_calls:
        return "tool_calls"
    return "length" if reply.truncated else "stop"


def _message(reply: Reply) -> dict[str, object]:
    message: dict[str, object] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.tool_calls:
        message["content"] = reply.text or None
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in reply.tool_calls
        ]
    return message


def _call_pieces(index: int, call: FakeToolCall) -> list[dict[str, object]]:
    """A tool call as streamed: id and name first, then the arguments in two halves."""
    half = len(call.arguments) // 2
    head = {"name": call.name, "arguments": ""}
    pieces: list[dict[str, object]] = [
        {"index": index, "id": call.id, "type": "function", "function": head}
    ]
    for part in (call.arguments[:half], call.arguments[half:]):
        if part:
            pieces.append({"index": index, "function": {"arguments": part}})
    return pieces


def _shape(body: dict[str, object]) -> OutputShape:
    """Response format and tools of a chat-completions body."""
    fmt = body.get("response_format")
    json_mode = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")
    schema = None
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        schema = fmt["json_schema"].get("schema")
    tools = []
    raw_tools = body.get("tools") or []
    if not isinstance(raw_tools, list):
        raise TypeError("tools must be a list")
    for tool in raw_tools:
        function = tool["function"]
        tools.append(FakeTool(name=str(function["name"]), parameters=function.get("parameters")))
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        choice = str(choice["function"]["name"])
    return OutputShape(
        json_mode=json_mode,
        json_schema=schema if isinstance(schema, dict) else None,
        tools=tuple(tools),
        tool_choice=choice if isinstance(choice, str) else None,
    )


def _data(payload: dict[str, object]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _new_id() -> str:
    return f"chatcmpl-fake-{uuid.uuid4().hex[:16]}"
