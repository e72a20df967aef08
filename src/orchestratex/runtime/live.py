"""Following a thread for the WebSocket and SSE endpoints, and heartbeats for idle streams.

`open_service_feed` is a context manager over the runtime's one `Follow` (runtime/follow.py):
its `replay` is what existed when it opened, its `events()` the replay then live events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

from orchestratex.runtime.bus import SubscriberLagged
from orchestratex.runtime.follow import Follow
from orchestratex.runtime.service import Service

__all__ = ["Follow", "SubscriberLagged", "open_service_feed", "with_heartbeats"]

T = TypeVar("T")


@contextlib.asynccontextmanager
async def open_service_feed(
    service: Service, thread_id: str, *, after_seq: int = 0
) -> AsyncIterator[Follow]:
    """A follower of the thread, opened (visibility is the caller's to check)."""
    follower = service.follower(thread_id, after_seq)
    try:
        yield await follower.open()
    finally:
        follower.close()


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
