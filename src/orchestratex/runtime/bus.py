"""The in-process event bus: every event of every run, fanned out to live subscribers.

Subscribers get a bounded queue each; a subscriber that falls too far behind is dropped (its
iterator ends with `SubscriberLagged`) rather than slowing the run or growing memory.
Across several instances the Redis bus (later) offers the same interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from orchestratex.core.events import Event

DEFAULT_QUEUE_SIZE = 10_000


class SubscriberLagged(Exception):
    """The subscriber did not keep up and was dropped."""


@dataclass(eq=False)
class Subscription:
    """A live feed of events, optionally only those of some threads."""

    accepts: Callable[[Event], bool]
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(DEFAULT_QUEUE_SIZE)
    )
    lagged: bool = False

    def offer(self, event: Event) -> None:
        if self.lagged or not self.accepts(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True

    def close(self) -> None:
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.lagged = True

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            if self.lagged and self.queue.empty():
                raise SubscriberLagged("subscriber fell behind and was dropped")
            item = await self.queue.get()
            if item is None:
                return
            yield item


class EventBus:
    """Publish events; subscribe to all of them or to a filter."""

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    in_process = True
    """Whether `publish_now` reaches every subscriber (not so for a bus across instances)."""

    async def publish(self, event: Event) -> None:
        self.publish_now(event)

    def deliver(self, event: Event) -> Awaitable[None] | None:
        """Publish: at once in process (returns None), else the awaitable of `publish`."""
        if self.in_process:
            self.publish_now(event)
            return None
        return self.publish(event)

    def publish_now(self, event: Event) -> None:
        """`publish` without awaiting: an in-process bus hands the event over at once."""
        for sub in tuple(self._subs):
            sub.offer(event)

    def subscribe(self, accepts: Callable[[Event], bool] | None = None) -> Subscription:
        sub = Subscription(accepts=accepts or (lambda _e: True))
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.discard(sub)
            sub.close()

    def close(self) -> None:
        for sub in tuple(self._subs):
            self.unsubscribe(sub)
