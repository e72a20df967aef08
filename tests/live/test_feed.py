"""`Follow` on a bare bus: order, no duplicates, holes filled, end conditions, lag."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from orchestratex.core.events import CancelledEvent, Event, ResponseChunkEvent
from orchestratex.runtime.bus import DEFAULT_QUEUE_SIZE, EventBus
from orchestratex.runtime.follow import Follow, FollowSources
from orchestratex.runtime.live import SubscriberLagged, with_heartbeats
from tests.waiting import until

TID = "t1"


def chunk(seq: int, thread_id: str = TID) -> Event:
    return ResponseChunkEvent(thread_id=thread_id, seq=seq, round=1, model="m", text=str(seq))


class World:
    """A store, a process's in-memory events and a bus. `during_load` are published while the
    follower reads the store (after it subscribed)."""

    def __init__(self, stored: list[Event], memory: list[Event] | None = None) -> None:
        self.stored = stored
        self.memory = memory or []
        self.during_load: list[Event] = []
        self.bus = EventBus()
        self.live = True
        self.loads = 0

    async def load(self, thread_id: str, after: int, limit: int) -> list[Event]:
        self.loads += 1
        for event in self.during_load:
            self.stored.append(event)
            await self.bus.publish(event)
        self.during_load = []
        return sorted((e for e in self.stored if e.seq > after), key=lambda e: e.seq)[:limit]

    def sources(self) -> FollowSources:
        return FollowSources(
            bus=self.bus,
            in_memory=lambda _t: list(self.memory),
            stored=self.load,
            is_live=lambda _t: self.live,
        )

    def follower(self, after_seq: int = 0, idle_check_s: float = 2.0) -> Follow:
        return Follow(self.sources(), TID, after_seq, idle_check_s=idle_check_s, gap_wait_s=2.0)


async def _collect(source: AsyncGenerator[Event, None]) -> list[int]:
    return [e.seq async for e in source]


async def test_events_published_during_replay_are_sent_once_in_order() -> None:
    world = World([chunk(1), chunk(2)])
    world.during_load = [chunk(3), chunk(4)]
    follower = await world.follower().open()
    assert [e.seq for e in follower.replay] == [1, 2, 3, 4]
    await world.bus.publish(chunk(5, "other-thread"))
    await world.bus.publish(chunk(5))
    await world.bus.publish(CancelledEvent(thread_id=TID, seq=6))
    await world.bus.publish(chunk(7))
    assert await _collect(follower.events()) == [1, 2, 3, 4, 5, 6], "ends after the terminal"
    follower.close()
    assert world.bus.subscriber_count == 0


async def test_memory_and_store_together_give_every_seq_once() -> None:
    # Seqs 1-3 are stored; 3-6 are still in the running process's memory (not flushed).
    world = World([chunk(1), chunk(2), chunk(3)], memory=[chunk(3), chunk(4), chunk(5), chunk(6)])
    follower = await world.follower().open()
    await world.bus.publish(CancelledEvent(thread_id=TID, seq=7))
    assert await _collect(follower.events()) == [1, 2, 3, 4, 5, 6, 7]
    follower.close()


async def test_a_hole_is_filled_when_another_process_stores_it() -> None:
    # Another process runs the thread: seq 2 and 3 were published before we subscribed and are
    # not stored yet; its writer stores them a moment after seq 4 reaches us live.
    world = World([chunk(1)])
    follower = await world.follower().open()
    task = asyncio.create_task(_collect(follower.events()))
    await world.bus.publish(chunk(4))
    await until(lambda: world.loads >= 3, what="three loads", timeout_s=2, every_s=0.005)
    world.stored += [chunk(2), chunk(3)]
    await world.bus.publish(CancelledEvent(thread_id=TID, seq=5))
    assert await asyncio.wait_for(task, 3) == [1, 2, 3, 4, 5]
    follower.close()


async def test_after_seq_skips_what_the_client_has() -> None:
    world = World([chunk(1), chunk(2), CancelledEvent(thread_id=TID, seq=3)])
    follower = await world.follower(after_seq=2).open()
    assert await _collect(follower.events()) == [3]
    follower.close()


async def test_a_finished_run_ends_after_the_replay_without_a_terminal() -> None:
    world = World([chunk(1)])
    world.live = False
    follower = await world.follower().open()
    assert await asyncio.wait_for(_collect(follower.events()), 1) == [1]
    follower.close()


async def test_a_run_that_stops_while_idle_ends_the_feed() -> None:
    world = World([])
    follower = await world.follower(idle_check_s=0.02).open()
    received: list[int] = []

    async def consume() -> None:
        async for event in follower.events():
            received.append(event.seq)

    task = asyncio.create_task(consume())
    await world.bus.publish(chunk(1))
    await until(lambda: received == [1], what="seq 1 received", timeout_s=2, every_s=0.005)
    assert not task.done(), "the run is still live"
    world.live = False
    await asyncio.wait_for(task, 1)
    assert received == [1]
    follower.close()


async def test_a_lagging_subscriber_is_told() -> None:
    world = World([])
    follower = await world.follower().open()
    for seq in range(1, DEFAULT_QUEUE_SIZE + 3):
        await world.bus.publish(chunk(seq))
    received: list[int] = []
    with pytest.raises(SubscriberLagged):
        async for event in follower.events():
            received.append(event.seq)
    assert received == list(range(1, DEFAULT_QUEUE_SIZE + 1)), "what was queued, then the error"
    follower.close()


async def test_with_heartbeats_marks_idle_time() -> None:
    gate = asyncio.Event()

    async def slow() -> AsyncGenerator[int, None]:
        yield 1
        await gate.wait()
        yield 2

    items: list[int | None] = []
    async for item in with_heartbeats(slow(), 0.03):
        items.append(item)
        if item is None:
            gate.set()
    assert items[0] == 1 and items[-1] == 2 and None in items


async def test_a_hole_the_store_never_fills_ends_the_feed_at_the_hole() -> None:
    # Seq 2 reached the bus before the follower subscribed and the store lags past the wait:
    # skipping it would lose it for good, so the feed stops after seq 1 and says so.
    world = World([chunk(1)])
    follower = await Follow(world.sources(), TID, gap_wait_s=0.05).open()
    received: list[int] = []
    await world.bus.publish(chunk(3))

    async def consume() -> None:
        async for event in follower.events():
            received.append(event.seq)

    with pytest.raises(SubscriberLagged, match="resume after seq 1"):
        await asyncio.wait_for(consume(), 3)
    assert received == [1]
    follower.close()


async def test_a_replay_with_a_hole_stops_before_it_while_the_run_is_live() -> None:
    world = World([chunk(1), chunk(3), chunk(4)])
    follower = await Follow(world.sources(), TID, gap_wait_s=0.05).open()
    assert [e.seq for e in follower.replay] == [1]
    world.stored.append(chunk(2))  # the writer caught up
    await world.bus.publish(CancelledEvent(thread_id=TID, seq=5))
    assert await asyncio.wait_for(_collect(follower.events()), 3) == [1, 2, 3, 4, 5]
    follower.close()


async def test_a_finished_run_with_a_hole_replays_past_it() -> None:
    # Over: nothing can fill the hole any more, so what exists is replayed.
    world = World([chunk(1), chunk(3), CancelledEvent(thread_id=TID, seq=4)])
    world.live = False
    follower = await world.follower().open()
    assert await asyncio.wait_for(_collect(follower.events()), 1) == [1, 3, 4]
    follower.close()
