"""Provider requests/tokens-per-window limits shared through Redis by several gateways."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from orchestratex.core.errors import RateLimitedError
from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.providers.gateway import Gateway
from orchestratex.runtime.provider_limits import RedisProviderLimiter, RedisProviderLimits
from orchestratex.testing.fake_catalog import FAKE_ANTHROPIC, FAKE_OPENAI, fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer

WINDOW_S = 0.5
PER_WINDOW = 3


def _ask(text: str) -> CompletionRequest:
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)], max_tokens=50)


async def _eval_calls(client: Redis) -> int:
    stats = await client.info("commandstats")
    entry = stats.get("cmdstat_eval", {})
    return int(entry.get("calls", 0)) if isinstance(entry, dict) else 0


async def test_two_gateways_hold_the_combined_rate(
    redis_url: str, redis: Redis, fake_provider: FakeProviderServer
) -> None:
    limited = {"requests_per_minute": PER_WINDOW, "max_retries": 0, "timeout_s": 20.0}
    catalog = fake_catalog(
        fake_provider.openai_base_url,
        provider_overrides={FAKE_OPENAI: limited, FAKE_ANTHROPIC: limited},
    )
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    gateways = [
        Gateway(catalog, limiter_factory=RedisProviderLimits(c, window_s=WINDOW_S)) for c in clients
    ]
    calls = 12
    await redis.config_resetstat()
    try:
        start = time.monotonic()
        results = await asyncio.gather(
            *(gateways[i % 2].complete("fake-llama", _ask(f"call {i}")) for i in range(calls))
        )
        elapsed = time.monotonic() - start
        evals = await _eval_calls(redis)
    finally:
        for gateway in gateways:
            await gateway.aclose()
        for client in clients:
            await client.aclose()
    assert len(results) == calls and all(r.text for r in results)
    times = sorted(fake_provider.stats.request_times["fake-llama-small"])
    assert len(times) == calls
    # Any PER_WINDOW + 1 consecutive arrivals, from either gateway, span about a window (a
    # gateway counting alone would let 2 * PER_WINDOW through at once).
    for i in range(calls - PER_WINDOW):
        assert times[i + PER_WINDOW] - times[i] >= WINDOW_S - 0.06, (i, times)
    assert elapsed >= (calls // PER_WINDOW - 1) * WINDOW_S - 0.05
    # Waiters sleep until the window frees instead of polling Redis: a few checks per call.
    assert evals <= 3 * calls, evals


async def test_tokens_are_shared_and_settled(redis_url: str, redis: Redis) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    a, b = (
        RedisProviderLimiter(c, "p-tokens", requests=None, tokens=100, window_s=1.0)
        for c in clients
    )
    try:
        first = await a.acquire(60)
        first.settle(10)  # used far fewer tokens than estimated
        await a.aclose()  # the settlement has reached Redis
        start = time.monotonic()
        await b.acquire(60)  # 10 + 60 <= 100: at once, on the other instance
        granted_at_once = time.monotonic() - start
        await a.acquire(60)  # 10 + 60 + 60 > 100: waits until the first call leaves the window
        waited = time.monotonic() - start
        await b.acquire(10_000)  # bigger than the whole limit: capped at it, still granted
    finally:
        for client in clients:
            await client.aclose()
    assert granted_at_once < 0.2
    assert 0.7 <= waited < 2.0


async def test_a_wait_longer_than_the_timeout_fails_at_once(redis_url: str, redis: Redis) -> None:
    other = Redis.from_url(redis_url)
    a = RedisProviderLimiter(redis, "p-timeout", requests=1, tokens=None, window_s=5.0)
    b = RedisProviderLimiter(other, "p-timeout", requests=1, tokens=None, window_s=5.0)
    try:
        await a.acquire(timeout_s=1.0)
        start = time.monotonic()
        with pytest.raises(RateLimitedError) as caught:
            await b.acquire(timeout_s=0.5)
        failed_after = time.monotonic() - start
    finally:
        await other.aclose()
    assert failed_after < 0.3
    assert caught.value.retryable and caught.value.provider == "p-timeout"
    assert caught.value.retry_after_s is not None and 4.0 < caught.value.retry_after_s <= 5.0
