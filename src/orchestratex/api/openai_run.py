"""Submit a run to the service and follow its events, for the OpenAI-compatible routes.

Following goes through the runtime's one `follow` (runtime/follow.py), which replays what the
run emitted before the follower opened, so nothing is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial

from orchestratex.api.openai_request import Plan
from orchestratex.core.events import (
    CancelledEvent,
    CompletedEvent,
    Event,
    FailedEvent,
    ResponseChunkEvent,
    ResponseEvent,
    SelectionEvent,
    is_terminal,
)
from orchestratex.core.orchestration import (
    OrchestrationResult,
    RoundResult,
)
from orchestratex.core.types import ToolCall
from orchestratex.engine.run import Run
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.bus import SubscriberLagged
from orchestratex.runtime.follow import Follow
from orchestratex.runtime.runs import Lane
from orchestratex.runtime.service import Service

Terminal = CompletedEvent | FailedEvent | CancelledEvent


class Tick:
    """No event arrived within the wait: time for a keep-alive."""


TICK = Tick()


@dataclass
class FollowedRun:
    """The events of one run as they arrive, and what the routes need from them."""

    thread_id: str
    chunks: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    finish_reasons: dict[tuple[int, str], str] = field(default_factory=dict)
    models: dict[int, str] = field(default_factory=dict)
    """Latest selected model per round."""
    tool_calls: dict[tuple[int, str], list[ToolCall]] = field(default_factory=dict)
    terminal: Terminal | None = None
    lost: str | None = None
    """Why the event feed ended without a terminal event, if it did."""

    def note(self, event: Event) -> None:
        if isinstance(event, ResponseChunkEvent):
            self.chunks.setdefault((event.round, event.model), []).append(event.text)
        elif isinstance(event, ResponseEvent):
            self.finish_reasons[(event.round, event.model)] = event.finish_reason
            self.tool_calls[(event.round, event.model)] = event.tool_calls
        elif isinstance(event, SelectionEvent):
            self.models[event.round] = event.decision.model
        elif isinstance(event, CompletedEvent | FailedEvent | CancelledEvent):
            self.terminal = event

    @property
    def result(self) -> OrchestrationResult | None:
        return self.terminal.result if self.terminal is not None else None

    def best_pieces(self) -> list[str]:
        """The streamed pieces of the winning answer, or the answer whole if they differ."""
        result = self.result
        if result is None or result.answer is None or result.best_round is None:
            return []
        best = next((r for r in result.rounds if r.round == result.best_round), None)
        pieces = self.chunks.get((result.best_round, best.model), []) if best else []
        return pieces if "".join(pieces) == result.answer else [result.answer]

    def finish_reason(self, round_: RoundResult | None = None) -> str:
        """Why the answer of `round_` (default: the best round) ended, in OpenAI's terms."""
        best = round_ or self.best_round()
        reason = self.finish_reasons.get((best.round, best.model)) if best else None
        return reason if reason in ("length", "tool_calls", "content_filter") else "stop"

    def best_round(self) -> RoundResult | None:
        result = self.result
        if result is None or result.best_round is None:
            return None
        return next((r for r in result.rounds if r.round == result.best_round), None)

    def calls_of(self, round_: RoundResult | None = None) -> list[ToolCall]:
        """The tool calls of the answer of `round_` (default: the best round)."""
        best = round_ or self.best_round()
        return self.tool_calls.get((best.round, best.model), []) if best else []


class RunFeed:
    """A run started through the service, with its events delivered through a queue.

    A reply sent whole (`live=False`) of a run going on in this process does not follow it:
    it waits for the run's end and reads its events from the run itself."""

    def __init__(
        self,
        follower: Follow | None,
        run: FollowedRun,
        local: Run | None = None,
        *,
        abandon: Callable[[], object] | None = None,
    ):
        self._follower = follower
        self._local = local
        self._abandon = abandon
        self.run = run
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._pump = (
            asyncio.create_task(self._forward(), name=f"openai-feed-{run.thread_id}")
            if follower is not None
            else None
        )

    @classmethod
    async def start(
        cls, service: Service, planned: Plan, user: Principal, *, live: bool = True
    ) -> RunFeed:
        lane: Lane = "passthrough" if planned.passthrough else "live"
        thread_id = await service.submit(planned.request, user=user, lane=lane)
        abandon = partial(service.runs.abandon, thread_id)
        local = None if live else service.runs.run_of(thread_id)
        if local is not None:
            return cls(None, FollowedRun(thread_id), local, abandon=abandon)
        follower = await service.follower(thread_id).open()
        return cls(follower, FollowedRun(thread_id), abandon=abandon)

    async def _forward(self) -> None:
        assert self._follower is not None
        try:
            async for event in self._follower.events():
                await self._queue.put(event)
                if is_terminal(event):
                    return
            self.run.lost = "the service stopped during the run"
        except SubscriberLagged:
            self.run.lost = "the event feed fell behind"
        finally:
            await self._queue.put(None)

    async def events(self, keepalive_s: float | None = None) -> AsyncIterator[Event | Tick]:
        """The run's events up to its terminal one; TICK after `keepalive_s` of silence."""
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), keepalive_s)
            except TimeoutError:
                yield TICK
                continue
            if item is None:
                return
            self.run.note(item)
            yield item
            if is_terminal(item):
                return

    async def finish(self) -> FollowedRun:
        """Consume every remaining event and return what was learned."""
        if self._local is not None:
            try:
                await self._local.result()
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if me is not None and me.cancelling():
                    raise
            for event in self._local.emitted():
                self.run.note(event)
            if self.run.terminal is None:
                self.run.lost = "the service stopped during the run"
            return self.run
        async for _ in self.events():
            pass
        return self.run

    async def close(self) -> None:
        """Stop following. Closed before its end, the run's requester went away (a client that
        disconnected): the run is cancelled, so nothing more is spent on an answer nobody reads.
        That comes first, before any await, because the closing task may be cancelled itself."""
        if self._abandon is not None and self.run.terminal is None and self.run.lost is None:
            self._abandon()
        self._abandon = None
        if self._follower is not None:
            self._follower.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
