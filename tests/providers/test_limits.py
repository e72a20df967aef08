"""Retry-After and the per-provider rate limiter, over HTTP and with an injected clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from orchestratex.core.errors import RateLimitedError
from orchestratex.providers.ratelimit import RateLimiter
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ask, both_retries
from tests.waiting import until


class FakeTime:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def _heal_then_sleep(
    fake: FakeProviderServer, waits: list[float]
) -> Callable[[float], Awaitable[None]]:
    """The gateway's backoff sleep: it records the wait, heals the provider, then really
    sleeps, because the gap between the two requests the provider sees is what is tested."""

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        fake.options.fail_rate = 0.0
        await asyncio.sleep(seconds)

    return sleep


@pytest.mark.parametrize(
    ("retry_after_s", "cap", "waited_s"),
    [(0.4, {}, 0.4), (30.0, {"max_retry_after_s": 0.1}, 0.1)],
    ids=["honoured", "capped"],
)
async def test_retry_after_is_honoured_up_to_the_cap(
    make_gateway: GatewayFactory,
    fake: FakeProviderServer,
    retry_after_s: float,
    cap: dict[str, float],
    waited_s: float,
) -> None:
    fake.options.faults = ["rate_limit"]
    fake.options.fail_rate = 1.0
    fake.options.retry_after_s = retry_after_s
    waits: list[float] = []
    gateway = make_gateway(sleep=_heal_then_sleep(fake, waits), **cap)
    done = await gateway.complete("fake-claude", ask())
    assert done.attempts == 2
    assert waits == [pytest.approx(waited_s)]
    first, second = fake.stats.request_times["fake-claude-large"]
    assert waited_s - 0.01 <= second - first < waited_s + 5.0


async def test_requests_per_window_hold_under_concurrent_load(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    per_window, window_s, calls = 5, 0.5, 20
    catalog = fake_catalog(
        fake.openai_base_url,
        provider_overrides=both_retries(0, requests_per_minute=per_window),
    )
    gateway = make_gateway(catalog, rate_window_s=window_s)
    start = time.monotonic()
    models = ["fake-gpt", "fake-llama", "fake-qwen", "fake-mistral"]
    results = await asyncio.gather(
        *(gateway.complete(models[i % 4], ask(f"call {i}")) for i in range(calls))
    )
    elapsed = time.monotonic() - start
    assert len(results) == calls and all(r.text for r in results)
    times = sorted(t for ts in fake.stats.request_times.values() for t in ts)
    assert len(times) == calls
    # Any per_window + 1 consecutive arrivals span about a window (less connection-setup jitter;
    # without the limiter all 20 arrive within a few milliseconds).
    for i in range(calls - per_window):
        assert times[i + per_window] - times[i] >= window_s - 0.1
    assert elapsed >= (calls // per_window - 1) * window_s - 0.05


async def test_limiter_serves_waiters_in_arrival_order() -> None:
    fake_time = FakeTime()
    limiter = RateLimiter(requests=1, window_s=1.0, clock=fake_time.clock, sleep=fake_time.sleep)
    granted: list[tuple[int, float]] = []

    async def call(i: int) -> None:
        await limiter.acquire()
        granted.append((i, fake_time.now))

    tasks = []
    for i in range(5):
        tasks.append(asyncio.create_task(call(i)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert [i for i, _ in granted] == [0, 1, 2, 3, 4]
    assert [t for _, t in granted] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0])


async def test_limiter_counts_tokens_and_settles_estimates() -> None:
    fake_time = FakeTime()
    limiter = RateLimiter(tokens=100, window_s=60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    first = await limiter.acquire(60)
    first.settle(10)  # the call used far fewer tokens than estimated
    await limiter.acquire(60)
    assert fake_time.now == 0.0
    await limiter.acquire(60)  # 10 + 60 + 60 > 100: wait until the first entries expire
    assert fake_time.now == pytest.approx(60.0, abs=0.01)
    await limiter.acquire(10_000)  # bigger than the whole budget: capped, still granted
    assert fake_time.now == pytest.approx(120.0, abs=0.01)


async def test_unlimited_limiter_never_waits() -> None:
    fake_time = FakeTime()
    limiter = RateLimiter(clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(1000):
        await limiter.acquire(10**6)
    assert fake_time.now == 0.0


async def test_max_concurrent_caps_the_calls_open_at_once(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    """Eight calls at once to a provider capped at 2: never more than 2 open at the fake, and
    every call answered (the others wait their turn)."""
    fake.options.latency_ms = 150
    catalog = fake_catalog(
        fake.openai_base_url, provider_overrides=both_retries(0, max_concurrent=2)
    )
    gateway = make_gateway(catalog)
    models = ["fake-gpt", "fake-llama", "fake-qwen", "fake-mistral"]  # one provider, fake-openai
    results = await asyncio.gather(
        *(gateway.complete(models[i % 4], ask(f"call {i}")) for i in range(8))
    )
    assert len(results) == 8 and all(r.text for r in results)
    assert fake.stats.max_in_flight == 2
    streamed = [p async for p in gateway.stream("fake-gpt", ask("after"))]
    assert streamed and fake.stats.in_flight == 0  # every place given back


async def test_a_call_that_finds_no_place_within_its_timeout_is_rate_limited(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    fake.options.latency_ms = 1500
    catalog = fake_catalog(
        fake.openai_base_url, provider_overrides=both_retries(0, max_concurrent=1)
    )
    gateway = make_gateway(catalog)
    first = asyncio.create_task(gateway.complete("fake-gpt", ask("first")))
    await until(lambda: fake.stats.in_flight == 1, what="the first call open")
    with pytest.raises(RateLimitedError, match="max_concurrent"):
        await gateway.complete("fake-llama", ask("second", timeout_s=0.2))
    assert (await first).text
    assert fake.stats.requests_total == 1  # the second never went out
