"""The event bus across instances: events go through one Redis pub/sub channel as JSON.

`publish` sends an event to Redis; a listener task receives every event of every instance and
fans it out to this process's subscribers through the in-process `EventBus` machinery, so the
interface (subscribe with a filter, unsubscribe, close, subscriber_count) is the same. The
listener reconnects after a failure; events published while it was away are not seen live, but
the live merge replays them from the store. `listen` is the reconnecting loop, also used for
cancel requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from orchestratex.core.events import EVENT_ADAPTER, Event
from orchestratex.runtime.bus import EventBus

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "orx:events"
RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 5.0

Handler = Callable[[bytes], Awaitable[None]]


async def listen(
    client: Redis, channel: str, handler: Handler, ready: asyncio.Event | None = None
) -> None:
    """Call `handler` with each message on `channel`, reconnecting after failures, forever.

    `ready` is set once the subscription is in place (the first time and after reconnects).
    """
    delay = RECONNECT_MIN_S
    while True:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            if ready is not None:
                ready.set()
            delay = RECONNECT_MIN_S
            async for message in pubsub.listen():
                data = message.get("data")
                if message.get("type") == "message" and isinstance(data, bytes):
                    await handler(data)
        except (RedisError, OSError) as exc:
            log.warning("redis channel %s lost (%s); reconnecting", channel, type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_S)


class RedisEventBus(EventBus):
    """An EventBus whose events travel through Redis, so every instance sees every run."""

    in_process = False

    def __init__(self, client: Redis, channel: str = EVENTS_CHANNEL) -> None:
        super().__init__()
        self._client = client
        self._channel = channel
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start following the channel; returns once subscribed."""
        if self._listener is None:
            self._listener = asyncio.create_task(
                listen(self._client, self._channel, self._received, self._ready),
                name="orchestratex-redis-bus",
            )
        async with asyncio.timeout(timeout_s):
            await self._ready.wait()

    async def _received(self, data: bytes) -> None:
        try:
            event = EVENT_ADAPTER.validate_json(data)
        except ValidationError:
            log.warning("ignored an unreadable event on %s", self._channel)
            return
        await super().publish(event)

    async def publish(self, event: Event) -> None:
        """Send the event to every instance (this one included, through the listener)."""
        try:
            await self._client.publish(self._channel, event.model_dump_json())
        except (RedisError, OSError) as exc:
            log.warning(
                "event %s #%d not published to redis (%s)",
                event.thread_id,
                event.seq,
                type(exc).__name__,
            )

    async def aclose(self) -> None:
        """Stop listening and end every subscription."""
        task, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.close()
