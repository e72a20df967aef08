"""Anthropic messages dialect: `POST /v1/messages` (JSON and SSE)."""

from __future__ import annotations

import json
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestratex.testing.fake_provider.behaviour import Reply, Turn, content_text, split_chunks
from orchestratex.testing.fake_provider.flow import Parsed, handle_completion
from orchestratex.testing.fake_provider.options import InjectedFault
from orchestratex.testing.fake_provider.state import FakeState

_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "[fake provider] injected rate limit"),
    "server_error": (500, "api_error", "[fake provider] injected server error"),
    "timeout": (504, "timeout_error", "[fake provider] injected timeout"),
    "down": (500, "api_error", "[fake provider] model is down (test directive)"),
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
        turns = [
            Turn(role=str(m.get("role", "")), text=content_text(m.get("content")))
            for m in messages
            if isinstance(m, dict)
        ]
        system = content_text(body.get("system"))
        if system:
            turns.insert(0, Turn(role="system", text=system))
        return Parsed(
            model=model,
            turns=turns,
            stream=bool(body.get("stream", False)),
            max_tokens=max_tokens,
            structured=False,
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
        return {
            **_message_head(model),
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": _stop(reply),
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }

    def stream_events(self, reply: Reply, model: str) -> list[bytes]:
        start = {
            **_message_head(model),
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 0},
        }
        events = [
            _event("message_start", {"message": start}),
            _event(
                "content_block_start",
                {"index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        events += [
            _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}})
            for t in split_chunks(reply.text)
        ]
        events.append(_event("content_block_stop", {"index": 0}))
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
    return "max_tokens" if reply.truncated else "end_turn"


def _event(name: str, payload: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n".encode()
