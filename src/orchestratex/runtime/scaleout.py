"""What instances share through Redis: the event bus, the job queue, cancel requests, limits,
open circuits (runtime/shared_breakers.py).

`RedisLinks` owns one Redis client and one arq pool. The job queue is arq's: `enqueue` puts a
run on it under a job id derived from the thread, so a thread is queued at most once. arq keeps
a job on its queue until a worker finishes it, guarded by an "in progress" key with a TTL; the
runner renews that key together with its database lease (`extend_job`), so when a worker dies
the key expires within one lease TTL and arq hands the job to another worker, which resumes
the run. Cancel requests are published on a channel (and remembered for a while, for runs not
started yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from orchestratex.runtime.redis_bus import RedisEventBus, listen
from orchestratex.runtime.shared_breakers import RedisBreakerPeers

log = logging.getLogger(__name__)

RUN_JOB = "run_thread"
CANCEL_CHANNEL = "orx:cancel"
CANCEL_KEY = "orx:cancel:"
CANCEL_KEEP_S = 3600
RATE_KEY = "orx:rate:"

# KEYS[1]: the window's sorted set. ARGV: limit, window in ms, a unique member.
# Returns {1, 0} when counted, {0, wait_ms} when the window is full. Time is Redis's.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
"""


def job_id(thread_id: str) -> str:
    return f"orx-run-{thread_id}"


class RedisRateLimiter:
    """At most `limit` hits per key in any sliding `window_s`, shared by every instance."""

    def __init__(self, client: Redis, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._client = client
        self._counter = 0

    async def hit(self, key: str, member: str) -> float | None:
        """Count one hit (`member` unique per hit); None when allowed, else seconds to wait."""
        window_ms = max(1, math.ceil(self.window_s * 1000))
        raw = self._client.eval(
            _SLIDING_WINDOW, 1, RATE_KEY + key, str(self.limit), str(window_ms), member
        )
        allowed, wait_ms = await raw  # type: ignore[misc]
        return None if int(allowed) == 1 else max(0.0, int(wait_ms) / 1000.0)


class RedisLinks:
    """The Redis client, event bus, arq pool and cancel channel of one instance or worker."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Redis = Redis.from_url(url)
        self.bus = RedisEventBus(self.client)
        self.breakers = RedisBreakerPeers(self.client)
        self._queue: ArqRedis | None = None
        self._cancel_listener: asyncio.Task[None] | None = None

    @property
    def queue(self) -> ArqRedis:
        if self._queue is None:
            raise RuntimeError("redis links are not started")
        return self._queue

    async def start(self) -> None:
        await self.bus.start()
        self._queue = await create_pool(RedisSettings.from_dsn(self.url))

    async def aclose(self) -> None:
        task, self._cancel_listener = self._cancel_listener, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.breakers.aclose()
        await self.bus.aclose()
        if self._queue is not None:
            await self._queue.aclose()
            self._queue = None
        await self.client.aclose()

    async def enqueue(self, thread_id: str, *, job: str | None = None) -> bool:
        """Queue a run of the thread; False when a job with that id exists already."""
        queued = await self.queue.enqueue_job(RUN_JOB, thread_id, _job_id=job or job_id(thread_id))
        return queued is not None

    async def extend_job(self, job: str, ttl_s: float) -> None:
        """Keep arq's in-progress mark of `job` for `ttl_s` more seconds (the lease TTL)."""
        await self.client.pexpire(in_progress_key_prefix + job, max(1, int(ttl_s * 1000)))

    async def request_cancel(self, thread_id: str) -> None:
        await self.client.set(CANCEL_KEY + thread_id, b"1", ex=CANCEL_KEEP_S)
        await self.client.publish(CANCEL_CHANNEL, thread_id.encode())

    async def cancel_requested(self, thread_id: str) -> bool:
        return bool(await self.client.exists(CANCEL_KEY + thread_id))

    def follow_cancels(self, on_cancel: Callable[[str], Awaitable[None]]) -> None:
        """Call `on_cancel(thread_id)` for every cancel request from now on."""

        async def handle(data: bytes) -> None:
            await on_cancel(data.decode(errors="replace"))

        self._cancel_listener = asyncio.create_task(
            listen(self.client, CANCEL_CHANNEL, handle), name="orchestratex-cancels"
        )
