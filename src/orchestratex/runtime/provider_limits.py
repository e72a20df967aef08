"""Provider requests/tokens-per-minute limits shared by every instance through Redis.

Each provider has a sliding-window log: a sorted set of granted calls scored by Redis's clock
(ms) and a hash of their token counts. One Lua script prunes the window, checks both limits and
either records the call or answers how long until it would fit; the caller sleeps that long
(never polling faster) and asks again, giving up when the wait would pass the call's timeout.
`RedisProviderLimits` is the gateway's `limiter_factory`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid

from redis.asyncio import Redis

from orchestratex.core.catalog import ProviderSpec
from orchestratex.providers.ratelimit import ProviderLimiter, limit_wait_error

log = logging.getLogger(__name__)

PROVIDER_KEY = "orx:plimit:"
SETTLE_WAIT_S = 2.0

# KEYS[1]: the window's sorted set (member -> ms); KEYS[2]: member -> tokens.
# ARGV: request limit (0: none), token limit (0: none), window ms, member, tokens.
# Returns {1, 0} when granted, {0, wait_ms} when the call does not fit yet.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reqs, toks = tonumber(ARGV[1]), tonumber(ARGV[2])
local window, want = tonumber(ARGV[3]), tonumber(ARGV[5])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for _, m in ipairs(old) do redis.call('HDEL', KEYS[2], m) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local wait = 0
local n = redis.call('ZCARD', KEYS[1])
if reqs > 0 and n >= reqs then
  local e = redis.call('ZRANGE', KEYS[1], n - reqs, n - reqs, 'WITHSCORES')
  wait = math.max(wait, tonumber(e[2]) + window - now)
end
if toks > 0 and n > 0 then
  local used = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(v) end
  local excess = used + want - toks
  if excess > 0 then
    local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #entries, 2 do
      if excess <= 0 then break end
      excess = excess - tonumber(redis.call('HGET', KEYS[2], entries[i]) or '0')
      wait = math.max(wait, tonumber(entries[i + 1]) + window - now)
    end
  end
end
if wait > 0 then return {0, wait} end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('HSET', KEYS[2], ARGV[4], want)
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return {1, 0}
"""

# KEYS[2] as above. ARGV: member, real tokens. Only a call still in the window is updated.
_SETTLE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""


class _RedisSlot:
    def __init__(self, limiter: RedisProviderLimiter, member: str | None) -> None:
        self._limiter = limiter
        self._member = member

    def settle(self, tokens: int) -> None:
        if self._member is not None and self._limiter.counts_tokens:
            self._limiter.settle_later(self._member, max(0, tokens))


class RedisProviderLimiter:
    """One provider's limits, counted in Redis; implements providers' `ProviderLimiter`.

    Callers in this process queue first come, first served; across instances, whoever asks
    Redis first after the window frees gets the slot.
    """

    def __init__(
        self,
        client: Redis,
        provider: str,
        *,
        requests: int | None,
        tokens: int | None,
        window_s: float,
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self.provider = provider
        self._client = client
        self._requests = requests
        self._tokens = tokens
        self._window_ms = max(1, math.ceil(window_s * 1000))
        self._keys = (PROVIDER_KEY + provider, PROVIDER_KEY + provider + ":tokens")
        self._lock = asyncio.Lock()
        self._settles: set[asyncio.Task[None]] = set()

    @property
    def limited(self) -> bool:
        return self._requests is not None or self._tokens is not None

    @property
    def counts_tokens(self) -> bool:
        return self._tokens is not None

    async def _try(self, member: str, tokens: int) -> float:
        """Seconds to wait before the call fits; 0 when it was granted and recorded."""
        raw = self._client.eval(
            _ACQUIRE,
            2,
            *self._keys,
            str(self._requests or 0),
            str(self._tokens or 0),
            str(self._window_ms),
            member,
            str(tokens),
        )
        granted, wait_ms = await raw  # type: ignore[misc]
        return 0.0 if int(granted) == 1 else max(0.001, int(wait_ms) / 1000.0)

    async def acquire(self, tokens: int = 0, *, timeout_s: float | None = None) -> _RedisSlot:
        """Wait until a call of about `tokens` tokens fits in the shared window, then count it."""
        if not self.limited:
            return _RedisSlot(self, None)
        if self._tokens is not None:
            tokens = min(max(0, tokens), self._tokens)
        start = time.monotonic()
        member = uuid.uuid4().hex
        async with self._lock:
            while True:
                wait = await self._try(member, tokens)
                if wait == 0.0:
                    return _RedisSlot(self, member)
                if timeout_s is not None and time.monotonic() - start + wait > timeout_s:
                    raise limit_wait_error(self.provider, wait, timeout_s)
                # A little jitter so instances woken by the same expiry do not ask all at once.
                await asyncio.sleep(wait + random.uniform(0.0, 0.01))

    def settle_later(self, member: str, tokens: int) -> None:
        """Replace a call's token estimate by its real count, in the background."""
        task = asyncio.create_task(self._settle(member, tokens))
        self._settles.add(task)
        task.add_done_callback(self._settles.discard)

    async def _settle(self, member: str, tokens: int) -> None:
        try:
            await self._client.eval(_SETTLE, 1, self._keys[1], member, str(tokens))  # type: ignore[misc]
        except Exception as err:  # the estimate stands, which only over-counts
            log.warning("could not settle tokens of a %s call: %s", self.provider, err)

    async def aclose(self) -> None:
        """Wait (briefly) for pending settlements."""
        if self._settles:
            await asyncio.wait(set(self._settles), timeout=SETTLE_WAIT_S)


class RedisProviderLimits:
    """The gateway's `limiter_factory`: one Redis-backed limiter per provider."""

    def __init__(self, client: Redis, *, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._client = client

    def __call__(self, provider: ProviderSpec) -> ProviderLimiter:
        return RedisProviderLimiter(
            self._client,
            provider.name,
            requests=provider.requests_per_minute,
            tokens=provider.tokens_per_minute,
            window_s=self.window_s,
        )
