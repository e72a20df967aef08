"""The Redis bus and the shared rate limit, in process against a real redis-server."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from orchestratex.core.events import AnalysisEvent, Event
from orchestratex.core.orchestration import Analysis
from orchestratex.core.types import Domain
from orchestratex.runtime.redis_bus import RedisEventBus
from orchestratex.runtime.scaleout import RedisRateLimiter


def _event(thread_id: str, seq: int) -> AnalysisEvent:
    analysis = Analysis(domain=Domain.MATH, complexity=0.5)
    return AnalysisEvent(thread_id=thread_id, seq=seq, analysis=analysis)


async def test_events_reach_subscribers_of_another_bus(redis_url: str) -> None:
    sender_client, receiver_client = Redis.from_url(redis_url), Redis.from_url(redis_url)
    sender, receiver = RedisEventBus(sender_client), RedisEventBus(receiver_client)
    await receiver.start()
    sub = receiver.subscribe(lambda e: e.thread_id == "t1")
    try:
        await sender.publish(_event("t2", 1))
        await sender.publish(_event("t1", 1))
        await sender.publish(_event("t1", 2))
        got: list[Event] = []
        async with asyncio.timeout(5):
            while len(got) < 2:
                item = await sub.queue.get()
                assert item is not None
                got.append(item)
    finally:
        await receiver.aclose()
        await sender.aclose()
        await sender_client.aclose()
        await receiver_client.aclose()
    assert [(e.thread_id, e.seq, e.type) for e in got] == [
        ("t1", 1, "analysis"),
        ("t1", 2, "analysis"),
    ]
    assert isinstance(got[0], AnalysisEvent) and got[0].analysis.domain is Domain.MATH
    assert receiver.subscriber_count == 0


async def test_rate_limit_is_atomic_under_concurrency(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    limiters = [RedisRateLimiter(c, 5, window_s=60) for c in clients]
    key = f"user-{uuid.uuid4().hex}"
    try:
        waits = await asyncio.gather(
            *(limiters[i % 3].hit(key, uuid.uuid4().hex) for i in range(20))
        )
        other = await limiters[0].hit(f"other-{key}", "x")
    finally:
        for client in clients:
            await client.aclose()
    assert sum(w is None for w in waits) == 5
    assert all(w is None or 0 < w <= 60 for w in waits)
    assert other is None
