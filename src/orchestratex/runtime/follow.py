"""`follow`: every event of one thread, from a seq on, with no gap and no duplicate.

The one way to follow a run; WebSocket, SSE, the `/v1` stream and the CLI are thin adapters
over it. It subscribes to the bus first, then takes what this process holds of the run in memory
(the events of a run it is executing, stored or not yet), then what the store has, so that every
event is in at least one of the three. Live events follow in seq order. When a seq is missing
(the run is executed by another process whose writer has not flushed it yet), the store is read
again until the hole fills or `gap_wait_s` passes; a hole still open then (the store lags) ends
the feed with `SubscriberLagged` after the last event before it, so the follower reconnects from
there instead of missing events. It ends after the terminal event, or when the run is over and
nothing more can come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from orchestratex.core.events import Event, is_terminal
from orchestratex.runtime.bus import EventBus, SubscriberLagged, Subscription

__all__ = ["Follow", "FollowSources", "SubscriberLagged", "follow"]

PAGE = 1000
IDLE_CHECK_S = 2.0
GAP_WAIT_S = 5.0
GAP_POLL_S = 0.05


@dataclass(frozen=True)
class FollowSources:
    bus: EventBus
    in_memory: Callable[[str], list[Event]]
    """The events this process holds of a run it executes (empty otherwise)."""
    stored: Callable[[str, int, int], Awaitable[list[Event]]]
    """(thread, after_seq, limit) -> stored events in seq order."""
    is_live: Callable[[str], bool]
    """Whether the run may still emit events."""
    held_from: Callable[[str], int | None] = lambda _thread_id: None
    """The first seq `in_memory` holds of a run executed here (None: not here); from it on, the
    store need not be read."""


async def _stored_from(sources: FollowSources, thread_id: str, after: int) -> list[Event]:
    events: list[Event] = []
    while True:
        page = await sources.stored(thread_id, after, PAGE)
        events.extend(page)
        if len(page) < PAGE:
            return events
        after = page[-1].seq


async def _fill(
    sources: FollowSources, thread_id: str, last: int, upto: int, wait_s: float
) -> list[Event]:
    """Events last+1 .. upto-1 from memory or the store, waiting up to `wait_s` for them."""
    deadline = time.monotonic() + wait_s
    while True:
        found = {e.seq: e for e in sources.in_memory(thread_id) if last < e.seq < upto}
        if len(found) < upto - last - 1:
            for event in await _stored_from(sources, thread_id, last):
                if event.seq < upto:
                    found.setdefault(event.seq, event)
        run: list[Event] = []
        for seq in range(last + 1, upto):
            if seq not in found:
                break
            run.append(found[seq])
        if len(run) == upto - last - 1 or time.monotonic() >= deadline:
            return run
        await asyncio.sleep(GAP_POLL_S)


def _hole(last: int, found: int) -> SubscriberLagged:
    return SubscriberLagged(
        f"events {last + 1}-{found - 1} are not in the store yet; resume after seq {last}"
    )


class Follow:
    """One follower of a thread: `open()` takes the replay (what exists now, in order, holes
    filled), `events()` yields it and then the live events. `close()` ends the subscription."""

    def __init__(
        self,
        sources: FollowSources,
        thread_id: str,
        after_seq: int = 0,
        *,
        idle_check_s: float = IDLE_CHECK_S,
        gap_wait_s: float = GAP_WAIT_S,
    ) -> None:
        self._sources = sources
        self.thread_id = thread_id
        self._after = after_seq
        self._idle_check_s = idle_check_s
        self._gap_wait_s = gap_wait_s
        self._sub: Subscription | None = None
        self._was_live = False
        self.replay: list[Event] = []

    async def open(self) -> Follow:
        sources, thread_id = self._sources, self.thread_id
        self._sub = sources.bus.subscribe(lambda e: e.thread_id == thread_id)
        self._was_live = sources.is_live(thread_id)
        held_from = sources.held_from(thread_id)
        held = {e.seq: e for e in sources.in_memory(thread_id) if e.seq > self._after}
        first_held = min(held, default=None)
        complete = held_from is not None and held_from <= self._after + 1
        if not complete and (first_held is None or first_held > self._after + 1):
            for event in await _stored_from(sources, thread_id, self._after):
                held.setdefault(event.seq, event)
        last = self._after
        wait = self._gap_wait_s if self._was_live else 0.0
        for seq in sorted(held):
            if seq != last + 1:
                for gap_event in await _fill(sources, thread_id, last, seq, wait):
                    self.replay.append(gap_event)
                    last = gap_event.seq
                if last != seq - 1 and self._was_live:
                    break  # the replay stops at the hole; `events()` waits for it again
            self.replay.append(held[seq])
            last = seq
            if is_terminal(held[seq]):
                break
        return self

    def close(self) -> None:
        if self._sub is not None:
            self._sources.bus.unsubscribe(self._sub)
            self._sub = None

    async def events(self) -> AsyncGenerator[Event, None]:
        """The replay, then live events, each seq once and in order; ends after the terminal
        event or when the run is over. Raises SubscriberLagged when a consumer fell behind."""
        assert self._sub is not None, "open() first"
        sources, thread_id, sub = self._sources, self.thread_id, self._sub
        last = self._after
        for event in self.replay:
            yield event
            last = event.seq
            if is_terminal(event):
                return
        if not self._was_live and not sources.is_live(thread_id):
            return
        queue = sub.queue
        while True:
            if sub.lagged and queue.empty():
                raise SubscriberLagged("subscriber fell behind and was dropped")
            try:
                async with asyncio.timeout(self._idle_check_s):
                    item = await queue.get()
            except TimeoutError:
                if sources.is_live(thread_id) or not queue.empty():
                    continue
                # Over: whatever reached the store meanwhile, then stop.
                for event in await _stored_from(sources, thread_id, last):
                    if event.seq != last + 1:
                        raise _hole(last, event.seq) from None
                    yield event
                    last = event.seq
                return
            if item is None:
                return
            if item.seq <= last:
                continue
            if item.seq > last + 1:
                for gap_event in await _fill(sources, thread_id, last, item.seq, self._gap_wait_s):
                    yield gap_event
                    last = gap_event.seq
                if last != item.seq - 1:
                    raise _hole(last, item.seq)
            yield item
            last = item.seq
            if is_terminal(item):
                return


async def follow(
    sources: FollowSources,
    thread_id: str,
    after_seq: int = 0,
    *,
    idle_check_s: float = IDLE_CHECK_S,
    gap_wait_s: float = GAP_WAIT_S,
) -> AsyncGenerator[Event, None]:
    """The thread's events with seq > `after_seq`, in order, each once (see `Follow`)."""
    follower = Follow(
        sources, thread_id, after_seq, idle_check_s=idle_check_s, gap_wait_s=gap_wait_s
    )
    try:
        await follower.open()
        async for event in follower.events():
            yield event
    finally:
        follower.close()
