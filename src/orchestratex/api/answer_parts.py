"""The answer of a /v1 run as parts: the one loop both client-compatible streams run.

`answer_parts` follows a run's feed and yields, in order: `KEEPALIVE` after each silence of
`KEEPALIVE_S`; `Text` pieces (live: round 1's text by the model selected for it, as it is
generated; otherwise the returned round's answer once the run has ended); then one `Answer` with
the returned round, or one `Failed` when the run gave none. `routes/openai_compat.py` renders
them as chat.completion.chunk events, `routes/anthropic_compat.py` as Messages events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import StreamingResponse

from orchestratex.api.errors import ClientGone
from orchestratex.api.openai_errors import OpenAIError, error_type
from orchestratex.api.openai_format import best_conforming, format_problem
from orchestratex.api.openai_run import FollowedRun, RunFeed, Tick
from orchestratex.core.events import ResponseChunkEvent
from orchestratex.core.orchestration import OrchestrationResult, RoundResult
from orchestratex.core.types import ResponseFormat, ToolCall

FAILED_STATUS = {
    "budget_exceeded": 402,
    "bad_request": 400,
    "rate_limited": 429,
}
"""The status of a run that gave no answer, by the code of its last error: the provider said the
request itself is at fault (400: a client retrying it gets the same), or still rate-limits after
the retries (429, which clients back off from); any other failure is the upstream's (502)."""
KEEPALIVE_S = 10.0
"""Seconds of silence after which a stream gets a keep-alive."""


class Keepalive:
    """Nothing happened for a while: the stream sends a keep-alive."""


KEEPALIVE = Keepalive()


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Failed:
    error: OpenAIError


@dataclass(frozen=True)
class Answer:
    """The run's end: the result, the round returned, its tool calls and why it ended."""

    result: OrchestrationResult
    chosen: RoundResult
    calls: list[ToolCall]
    finish_reason: str


Part = Keepalive | Text | Failed | Answer


def event_stream(body: AsyncIterator[str], headers: dict[str, str]) -> StreamingResponse:
    """A server-sent-event reply that proxies neither cache nor buffer."""
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers},
    )


async def finished(feed: RunFeed, request: Request) -> FollowedRun:
    """The run followed to its end; the feed is closed whatever happens. A client that hangs
    up first (a whole reply is awaited, so only its socket tells) gets `ClientGone`, and closing
    the feed then cancels the run, as a streamed reply's hang-up does."""
    ending = asyncio.ensure_future(feed.finish())
    leaving = asyncio.ensure_future(_hung_up(request))
    try:
        await asyncio.wait((ending, leaving), return_when=asyncio.FIRST_COMPLETED)
        if not ending.done():
            raise ClientGone
        return ending.result()
    finally:
        leaving.cancel()
        ending.cancel()
        await feed.close()


async def _hung_up(request: Request) -> None:
    """Returns when the client disconnects (its body was read whole before the run began)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def outcome(run: FollowedRun) -> OrchestrationResult:
    """The completed result, or the OpenAI-shaped error for a run that gave no answer."""
    result = run.result
    if result is not None and result.status == "completed" and result.answer is not None:
        return result
    if run.lost is not None:
        raise OpenAIError(503, run.lost, type_="server_error", code="unavailable")
    if result is not None and result.status == "cancelled":
        raise OpenAIError(503, "the run was cancelled", type_="server_error", code="cancelled")
    message = (result.error if result is not None else None) or "the run failed"
    code = getattr(run.terminal, "code", "failed")
    status = FAILED_STATUS.get(code, 502)
    raise OpenAIError(status, message, type_=error_type(status), code=code)


async def answer_round(
    run: FollowedRun, fmt: ResponseFormat | None
) -> tuple[OrchestrationResult, RoundResult]:
    """The result and the round whose answer is returned: the best round, or with `fmt` the
    best round that satisfies it (checked in a worker thread); raises the OpenAI-shaped error
    when there is none."""
    result = outcome(run)
    if fmt is None:
        chosen = run.best_round()
        problem = None
    else:
        chosen, problem = await asyncio.to_thread(_conforming, result, fmt)
    if chosen is None:
        raise OpenAIError(
            502,
            f"no round's answer satisfied the response_format ({problem or 'no answer'})",
            type_="server_error",
            code="response_format_unmet",
        )
    return result, chosen


def _conforming(
    result: OrchestrationResult, fmt: ResponseFormat
) -> tuple[RoundResult | None, str | None]:
    """The best conforming round, or None and why the run's answer does not conform."""
    chosen = best_conforming(result, fmt)
    return chosen, None if chosen is not None else format_problem(fmt, result.answer or "")


def broken_stream(model: str) -> OpenAIError:
    """The error that ends a live stream whose model broke off after some of its text was sent:
    another model would answer in its place, but text already sent cannot be taken back, so
    appending the other answer would hand the client two answers spliced together."""
    return OpenAIError(
        502,
        f"the answer from {model} broke off after part of it was streamed; "
        "the partial text above is not a complete answer: retry the request",
        type_="server_error",
        code="stream_broken",
    )


async def answer_parts(
    feed: RunFeed, *, live: bool, fmt: ResponseFormat | None
) -> AsyncGenerator[Part, None]:
    """The parts of the run's answer (see the module's docstring); closes the feed at the end.
    Iterate it under `contextlib.aclosing`, so a client that goes away closes the feed."""
    run = feed.run
    streamed: str | None = None
    """The model whose live text this stream has sent, once it has sent some."""
    try:
        async for event in feed.events(KEEPALIVE_S):
            if isinstance(event, Tick):
                yield KEEPALIVE
            elif (
                live
                and isinstance(event, ResponseChunkEvent)
                and event.round == 1
                and run.models.get(1) == event.model
            ):
                streamed = event.model
                yield Text(event.text)
            elif streamed is not None and run.models.get(1) != streamed:
                yield Failed(broken_stream(streamed))
                return
        try:
            result, chosen = await answer_round(run, fmt)
        except OpenAIError as error:
            yield Failed(error)
            return
        if streamed is None:
            pieces = run.best_pieces() if chosen.round == result.best_round else [chosen.answer]
            for piece in pieces:
                if piece:
                    yield Text(piece)
        yield Answer(result, chosen, run.calls_of(chosen), run.finish_reason(chosen))
    finally:
        await feed.close()
