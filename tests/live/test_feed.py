"""The replay-then-live merge on a bare bus: order, no duplicates, end conditions, lag."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from orchestratex.core.events import CancelledEvent, Event, ResponseChunkEvent
from orchestratex.runtime.bus import DEFAULT_QUEUE_SIZE, EventBus
from orchestratex.runtime.live import SubscriberLagged, open_feed, with_heartbeats

TID = "t1"


def chunk(seq: int, thread_id: str = TID) -> Event:
    return ResponseChunkEvent(thread_id=thread_id, seq=seq, round=1, model="m", text=str(seq))


class Store:
    """Stored events; `during_load` are published while the feed reads (after it subscribed)."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events
        self.during_load: list[Event] = []
        self.bus = EventBus()

    async def load(self, after: int) -> list[Event]:
        for event in self.during_load:
            self.events.append(event)
            await self.bus.publish(event)
        self.during_load = []
        return [e for e in self.events if e.seq > after]


async def _collect(source: AsyncGenerator[Event, None]) -> list[int]:
    return [e.seq async for e in source]


async def test_events_published_during_replay_are_sent_once_in_order() -> None:
    store = Store([chunk(1), chunk(2)])
    store.during_load = [chunk(3), chunk(4)]
    async with open_feed(store.bus, TID, load=store.load, is_live=lambda: True) as feed:
        assert [e.seq for e in feed.replay] == [1, 2, 3, 4]
        await store.bus.publish(chunk(5, "other-thread"))
        await store.bus.publish(chunk(5))
        await store.bus.publish(CancelledEvent(thread_id=TID, seq=6))
        await store.bus.publish(chunk(7))
        assert await _collect(feed.events()) == [1, 2, 3, 4, 5, 6], "ends after the terminal"
    assert store.bus.subscriber_count == 0


async def test_after_seq_skips_what_the_client_has() -> None:
    store = Store([chunk(1), chunk(2), CancelledEvent(thread_id=TID, seq=3)])
    async with open_feed(
        store.bus, TID, load=store.load, is_live=lambda: True, after_seq=2
    ) as feed:
        assert await _collect(feed.events()) == [3]


async def test_a_finished_run_ends_after_the_replay_without_a_terminal() -> None:
    store = Store([chunk(1)])
    async with open_feed(store.bus, TID, load=store.load, is_live=lambda: False) as feed:
        assert await asyncio.wait_for(_collect(feed.events()), 1) == [1]


async def test_a_run_that_stops_while_idle_ends_the_feed() -> None:
    store = Store([])
    live = [True]
    opened = open_feed(store.bus, TID, load=store.load, is_live=lambda: live[0], idle_check_s=0.02)
    async with opened as feed:
        task = asyncio.create_task(_collect(feed.events()))
        await store.bus.publish(chunk(1))
        await asyncio.sleep(0.05)
        assert not task.done()
        live[0] = False
        assert await asyncio.wait_for(task, 1) == [1]


async def test_a_lagging_subscriber_is_told() -> None:
    store = Store([])
    async with open_feed(store.bus, TID, load=store.load, is_live=lambda: True) as feed:
        for seq in range(1, DEFAULT_QUEUE_SIZE + 3):
            await store.bus.publish(chunk(seq))
        received: list[int] = []
        with pytest.raises(SubscriberLagged):
            async for event in feed.events():
                received.append(event.seq)
    assert received == list(range(1, DEFAULT_QUEUE_SIZE + 1)), "what was queued, then the error"


async def test_with_heartbeats_marks_idle_time() -> None:
    async def slow() -> AsyncGenerator[int, None]:
        yield 1
        await asyncio.sleep(0.12)
        yield 2

    items = [item async for item in with_heartbeats(slow(), 0.03)]
    assert items[0] == 1 and items[-1] == 2
    assert items.count(None) >= 2


async def test_with_heartbeats_passes_errors_on() -> None:
    async def broken() -> AsyncGenerator[int, None]:
        yield 1
        raise SubscriberLagged("behind")

    with pytest.raises(SubscriberLagged):
        async for _ in with_heartbeats(broken(), 1.0):
            pass
