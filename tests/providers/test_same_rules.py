"""`complete` and `stream` share one attempt loop: the same retries, waits, breaker and health."""

from __future__ import annotations

from typing import Literal

import pytest

from orchestratex.core.errors import CircuitOpenError, ProviderUnavailableError, RateLimitedError
from orchestratex.core.types import Completion, CompletionRequest
from orchestratex.providers.breaker import BreakerSettings
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ask, both_retries

Mode = Literal["complete", "stream"]
MODES: list[Mode] = ["complete", "stream"]


async def call(gateway: Gateway, mode: Mode, model: str, request: CompletionRequest) -> Completion:
    if mode == "complete":
        return await gateway.complete(model, request)
    final = None
    async for part in gateway.stream(model, request):
        final = part
    assert isinstance(final, Completion)
    return final


class Waits:
    """An injected sleep that records the backoff delays (and waits for nothing)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_failures_are_retried_then_open_the_breaker_alike(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    fake.options.faults = ["server_error"]
    fake.options.fail_rate = 1.0
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(2))
    seen: dict[Mode, tuple[object, ...]] = {}
    for mode in MODES:
        waits = Waits()
        breaker = BreakerSettings(window=3, min_calls=3)
        gateway = make_gateway(catalog, breaker=breaker, sleep=waits, random=lambda: 0.5)
        before = sum(fake.stats.by_model.values())
        with pytest.raises(ProviderUnavailableError) as info:
            await call(gateway, mode, model, ask())
        sent = sum(fake.stats.by_model.values()) - before
        with pytest.raises(CircuitOpenError):  # three failures opened it; nothing is sent
            await call(gateway, mode, model, ask())
        assert sum(fake.stats.by_model.values()) - before == sent
        health = gateway.health()[model]
        seen[mode] = (
            type(info.value),
            info.value.model,
            sent,
            waits.delays,
            health.circuit,
            health.recent_calls,
            health.recent_success_rate,
        )
    assert seen["complete"] == seen["stream"]
    assert seen["stream"] == (
        ProviderUnavailableError,
        model,
        3,  # the first attempt and two retries
        [pytest.approx(0.005), pytest.approx(0.01)],  # full jitter (0.5) under 0.01 * 2**n
        "open",
        3,
        0.0,
    )


async def test_retry_after_and_attempt_counts_are_the_same(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    fake.options.faults = ["rate_limit"]
    fake.options.retry_after_s = 0.25
    found: dict[Mode, tuple[object, ...]] = {}
    for mode in MODES:
        fake.options.fail_rate = 1.0
        waits = Waits()

        async def heal_on_second_wait(seconds: float, waits: Waits = waits) -> None:
            await waits(seconds)
            if len(waits.delays) == 2:
                fake.options.fail_rate = 0.0

        gateway = make_gateway(sleep=heal_on_second_wait)
        done = await call(gateway, mode, "fake-claude", ask())
        found[mode] = (done.model, done.attempts, waits.delays, done.cost_usd > 0)
    assert found["complete"] == found["stream"]
    assert found["stream"] == ("fake-claude", 3, [0.25, 0.25], True)


async def test_errors_that_are_not_retried_are_the_same(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    fake.options.faults = ["rate_limit"]
    fake.options.fail_rate = 1.0
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(0))
    for mode in MODES:
        waits = Waits()
        gateway = make_gateway(catalog, sleep=waits)
        with pytest.raises(RateLimitedError):
            await call(gateway, mode, "fake-gpt", ask())
        assert waits.delays == []  # no retries configured: no backoff either
        assert gateway.health()["fake-gpt"].circuit == "closed"  # a 429 is not the breaker's
