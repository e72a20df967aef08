"""Replay-then-live feed of one thread's events, shared by the WebSocket and SSE endpoints.

The feed subscribes to the bus first, then reads the stored events after the client's last seq,
so nothing published in between is lost: stored events are yielded first, then live ones, each
seq at most once and in order. The feed ends after the terminal event, when the bus closes, or
when the run is over and nothing more can come. A subscriber that falls behind gets
`SubscriberLagged` from the iterator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from orchestratex.core.events import Event, is_terminal
from orchestratex.runtime.bus import EventBus, SubscriberLagged, Subscription
from orchestratex.runtime.service import Service
from orchestratex.store import repository

__all__ = ["SubscriberLagged", "ThreadFeed", "open_feed", "open_service_feed", "with_heartbeats"]

REPLAY_PAGE = 1000
IDLE_CHECK_S = 2.0

Loader = Callable[[int], Awaitable[list[Event]]]
T = TypeVar("T")


class ThreadFeed:
    """The events of one thread: `replay` (already loaded), then live ones via `events()`."""

    def __init__(
        self,
        sub: Subscription,
        replay: list[Event],
        *,
        after_seq: int,
        was_live: bool,
        is_live: Callable[[], bool],
        idle_check_s: float,
    ) -> None:
        self.replay = replay
        self._sub = sub
        self._after_seq = after_seq
        self._was_live = was_live
        self._is_live = is_live
        self._idle_check_s = idle_check_s

    async def events(self) -> AsyncGenerator[Event, None]:
        """Replayed events, then live ones with seq above the last sent; ends after terminal."""
        last = self._after_seq
        for event in self.replay:
            if event.seq <= last:
                continue
            last = event.seq
            yield event
            if is_terminal(event):
                return
        if not self._was_live:
            return
        queue = self._sub.queue
        while True:
            if self._sub.lagged and queue.empty():
                raise SubscriberLagged("subscriber fell behind and was dropped")
            try:
                async with asyncio.timeout(self._idle_check_s):
                    item = await queue.get()
            except TimeoutError:
                if not self._is_live() and queue.empty():
                    return
                continue
            if item is None:
                return
            if item.seq <= last:
                continue
            last = item.seq
            yield item
            if is_terminal(item):
                return


async def _load_all(load: Loader, after_seq: int) -> list[Event]:
    events: list[Event] = []
    cursor = after_seq
    while True:
        page = await load(cursor)
        events.extend(page)
        if len(page) < REPLAY_PAGE:
            return events
        cursor = page[-1].seq


@contextlib.asynccontextmanager
async def open_feed(
    bus: EventBus,
    thread_id: str,
    *,
    load: Loader,
    is_live: Callable[[], bool],
    after_seq: int = 0,
    idle_check_s: float = IDLE_CHECK_S,
) -> AsyncIterator[ThreadFeed]:
    """Subscribe to the thread on `bus`, then load what is stored after `after_seq`.

    `load(seq)` returns up to REPLAY_PAGE stored events after seq, in order; `is_live()` says
    whether the run can still publish. The bus subscription ends with the block.
    """
    sub = bus.subscribe(lambda e: e.thread_id == thread_id)
    try:
        was_live = is_live()
        replay = await _load_all(load, after_seq)
        yield ThreadFeed(
            sub,
            replay,
            after_seq=after_seq,
            was_live=was_live,
            is_live=is_live,
            idle_check_s=idle_check_s,
        )
    finally:
        bus.unsubscribe(sub)


def open_service_feed(
    service: Service, thread_id: str, *, after_seq: int = 0
) -> contextlib.AbstractAsyncContextManager[ThreadFeed]:
    """`open_feed` wired to the service's bus, store and live runs (visibility not checked)."""

    async def load(seq: int) -> list[Event]:
        async with service.sessions() as session:
            return await repository.get_events_after(
                session=session, thread_id=thread_id, after_seq=seq, limit=REPLAY_PAGE
            )

    return open_feed(
        service.bus,
        thread_id,
        load=load,
        is_live=lambda: service.is_live(thread_id),
        after_seq=after_seq,
    )


async def with_heartbeats(
    source: AsyncGenerator[T, None], interval_s: float
) -> AsyncGenerator[T | None, None]:
    """The items of `source`, with a None whenever nothing came for `interval_s` seconds."""
    queue: asyncio.Queue[tuple[bool, T | None, BaseException | None]] = asyncio.Queue(1)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put((False, item, None))
            await queue.put((True, None, None))
        except Exception as exc:
            await queue.put((True, None, exc))
        finally:
            await source.aclose()

    task = asyncio.create_task(pump())
    try:
        while True:
            try:
                async with asyncio.timeout(interval_s):
                    done, item, error = await queue.get()
            except TimeoutError:
                yield None
                continue
            if error is not None:
                raise error
            if done:
                return
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
