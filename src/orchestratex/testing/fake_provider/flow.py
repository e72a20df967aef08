"""The request flow shared by both wire protocols: parse, fault, plan, answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from orchestratex.testing.fake_provider.behaviour import Reply, Turn, plan_reply
from orchestratex.testing.fake_provider.faults import PartialResponse, hang
from orchestratex.testing.fake_provider.options import InjectedFault
from orchestratex.testing.fake_provider.shapes import OutputShape
from orchestratex.testing.fake_provider.state import FakeState

JSON = "application/json"
SSE = "text/event-stream"


@dataclass(frozen=True)
class Parsed:
    """The parts of a completion request the fake provider looks at."""

    model: str
    turns: list[Turn]
    stream: bool
    max_tokens: int | None
    structured: bool
    """The request asks for a judge's (rubric-shaped) JSON schema."""
    shape: OutputShape = OutputShape()
    logprobs: bool = False
    """The request asks for token log-probabilities."""


class Wire(Protocol):
    """How one API dialect (OpenAI or Anthropic) reads requests and shapes replies."""

    cut_keep: int
    """Stream events sent before a "cut" fault drops the connection."""

    def parse(self, body: object) -> Parsed: ...

    def bad_request(self, message: str) -> Response: ...

    def error(self, fault: InjectedFault, retry_after_s: float) -> Response: ...

    def full_body(self, reply: Reply, model: str) -> dict[str, object]: ...

    def stream_events(self, reply: Reply, model: str) -> list[bytes]: ...

    def broken_event(self) -> bytes: ...

    def error_event(self) -> bytes:
        """The event a provider failing mid-stream sends (then the stream ends)."""
        ...


async def handle_completion(request: Request, state: FakeState, wire: Wire) -> Response:
    """Answer one completion request, possibly with an injected fault."""
    try:
        body = await request.json()
        parsed = wire.parse(body)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return wire.bad_request(f"[fake provider] invalid request: {exc}")
    state.completion_seen(parsed.model, request.url.path, body)
    options = state.options
    fault = state.choose_fault(parsed.model)
    if fault == "timeout":
        await hang(request, options.hang_s, state.closing)
    if fault in ("rate_limit", "server_error", "timeout", "down", "bad_request") or (
        fault == "overloaded" and not parsed.stream
    ):
        return wire.error(fault, options.retry_after_s)
    reply = plan_reply(
        parsed.turns,
        structured=parsed.structured,
        max_tokens=parsed.max_tokens,
        options=options,
        bad_judge="badjudge" in parsed.model,
        shape=parsed.shape,
        logprob=options.logprob_for(parsed.model) if parsed.logprobs else None,
    )
    latency_s = options.latency_ms / 1000.0
    first_wait_s = latency_s if not parsed.stream else latency_s / 2
    if not await _pause(request, first_wait_s, state.closing):
        state.stats.abandoned += 1
        return Response(status_code=499)  # nobody is there to read it
    if not parsed.stream:
        body = json.dumps(wire.full_body(reply, parsed.model)).encode()
        if fault == "malformed":
            return Response(body[: len(body) // 2], media_type=JSON)
        if fault == "cut":
            return PartialResponse(
                [body[: len(body) // 2]], media_type=JSON, content_length=len(body)
            )
        return Response(body, media_type=JSON)
    events = wire.stream_events(reply, parsed.model)
    delay_s = latency_s / 2 / len(events)
    if fault == "cut":
        return PartialResponse(events[: wire.cut_keep], media_type=SSE, delay_s=delay_s)
    if fault == "malformed":
        events = [*events[: wire.cut_keep], wire.broken_event(), *events[wire.cut_keep :]]
    if fault == "overloaded":
        events = [*events[: wire.cut_keep], wire.error_event()]
    return StreamingResponse(_paced(events, delay_s), media_type=SSE)


async def _pause(request: Request, seconds: float, closing: asyncio.Event) -> bool:
    """Wait `seconds` before answering; False when the client went away (or the server is
    closing) first. Waits on the connection itself, so a thousand open calls cost no polling."""
    if seconds <= 0:
        return True

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    sleeper = asyncio.ensure_future(asyncio.sleep(seconds))
    others = {asyncio.ensure_future(gone()), asyncio.ensure_future(closing.wait())}
    try:
        await asyncio.wait({sleeper, *others}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, *others):
            task.cancel()
    return sleeper.done() and not sleeper.cancelled()


async def _paced(events: Sequence[bytes], delay_s: float) -> AsyncIterator[bytes]:
    for event in events:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        yield event
