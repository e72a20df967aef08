"""The emitter: numbers a thread's events without gaps, stamps them and fans them out.

Every event is kept for the run's lifetime so a late subscriber first receives the earlier
events, then the live ones. An optional external sink is given each event, in order: it either
takes it at once (returns None) or returns an awaitable that is awaited to its end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

from orchestratex.core.events import Event, EventBase, utc_now

EventSink = Callable[[Event], Awaitable[None] | None]
E = TypeVar("E", bound=EventBase)

log = logging.getLogger(__name__)


class Emitter:
    def __init__(self, thread_id: str, *, first_seq: int = 1, sink: EventSink | None = None):
        if first_seq < 1:
            raise ValueError("first_seq must be at least 1")
        self.thread_id = thread_id
        self.first_seq = first_seq
        self._next_seq = first_seq
        self._sink = sink
        self._events: list[Event] = []
        self._closed = False
        self._changed: asyncio.Event | None = None
        """Made by the first subscriber that waits: most runs have none (an Event costs
        about 1 KiB, its waiters deque most of it)."""
        self._lock = asyncio.Lock()

    @property
    def events(self) -> list[Event]:
        """A copy of every event emitted so far."""
        return list(self._events)

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def closed(self) -> bool:
        return self._closed

    async def emit(self, cls: type[E], **fields: Any) -> E:
        """Build one event of type `cls` with the next sequence number and publish it."""
        async with self._lock:
            if self._closed:
                raise RuntimeError(f"thread {self.thread_id}: the event stream is closed")
            event = cls(thread_id=self.thread_id, seq=self._next_seq, ts=utc_now(), **fields)
            self._next_seq += 1
            self._events.append(cast(Event, event))
            self._wake()
            if self._sink is not None:
                await self._deliver(cast(Event, event))
            return event

    async def _deliver(self, event: Event) -> None:
        """Give the event to the sink; if it returns an awaitable and the caller is cancelled
        meanwhile, finish delivery, then re-raise."""
        assert self._sink is not None
        try:
            pending = self._sink(event)
        except Exception:
            log.exception("event sink failed on %s #%d", event.thread_id, event.seq)
            return
        if pending is None:
            return
        delivery = asyncio.ensure_future(pending)
        try:
            await asyncio.shield(delivery)
        except asyncio.CancelledError:
            await asyncio.wait({delivery})
            if not delivery.cancelled() and delivery.exception() is not None:
                log.error("event sink failed on %s #%d", event.thread_id, event.seq)
            raise
        except Exception:
            log.exception("event sink failed on %s #%d", event.thread_id, event.seq)

    def close(self) -> None:
        """No more events: subscribers finish after the last one."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def subscribe(self) -> AsyncIterator[Event]:
        """Every event from the first one, then live ones until the stream is closed."""
        index = 0
        while True:
            if index < len(self._events):
                yield self._events[index]
                index += 1
                continue
            if self._closed:
                return
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()
