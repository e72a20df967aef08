"""Circuit breaking over HTTP, and no fallback: the gateway answers for the model asked or
raises (the engine owns the one fallback policy)."""

from __future__ import annotations

import pytest

from orchestratex.core.errors import CircuitOpenError, ProviderUnavailableError
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ask, both_retries


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_breaker_opens_then_half_opens_and_reopens(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    clock = ManualClock()
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-grok"], provider_overrides=both_retries(0)
    )
    gateway = make_gateway(catalog, breaker_threshold=2, breaker_cooldown_s=30.0, clock=clock)
    for _ in range(2):
        with pytest.raises(ProviderUnavailableError):
            await gateway.complete("fake-grok", ask())
    assert gateway.health()["fake-grok"].circuit == "open"
    assert gateway.health()["fake-grok"].score == 0.0
    assert gateway.health()["fake-gpt"].circuit == "closed"  # same provider, other model

    with pytest.raises(CircuitOpenError):
        await gateway.complete("fake-grok", ask())
    assert fake.stats.by_model["fake-grok-medium-down"] == 2  # refused without a request

    clock.now += 31.0
    assert gateway.health()["fake-grok"].circuit == "half_open"
    with pytest.raises(ProviderUnavailableError):  # the probe goes out and fails
        await gateway.complete("fake-grok", ask())
    assert fake.stats.by_model["fake-grok-medium-down"] == 3
    assert gateway.health()["fake-grok"].circuit == "open"


async def test_half_open_probe_success_closes_the_circuit(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    clock = ManualClock()
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(0))
    gateway = make_gateway(catalog, breaker_threshold=3, breaker_cooldown_s=10.0, clock=clock)
    fake.options.faults = ["server_error"]
    fake.options.fail_rate = 1.0
    for _ in range(3):
        with pytest.raises(ProviderUnavailableError):
            await gateway.complete("fake-claude", ask())
    assert gateway.health()["fake-claude"].circuit == "open"
    fake.options.fail_rate = 0.0
    with pytest.raises(CircuitOpenError):
        await gateway.complete("fake-claude", ask())
    clock.now += 10.0
    done = await gateway.complete("fake-claude", ask())
    assert done.text
    assert gateway.health()["fake-claude"].circuit == "closed"


async def test_provider_scoped_breaker_covers_all_its_models(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-grok"], provider_overrides=both_retries(0)
    )
    gateway = make_gateway(catalog, breaker_threshold=1, breaker_scope="provider")
    with pytest.raises(ProviderUnavailableError):
        await gateway.complete("fake-grok", ask())
    with pytest.raises(CircuitOpenError):
        await gateway.complete("fake-gpt", ask())
    assert gateway.health()["fake-claude"].circuit == "closed"


async def test_no_fallback_the_error_propagates_for_the_model_asked(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-gpt"], provider_overrides=both_retries(1)
    )
    gateway = make_gateway(catalog)
    with pytest.raises(ProviderUnavailableError) as info:
        await gateway.complete("fake-gpt", ask())
    assert info.value.model == "fake-gpt"
    assert fake.stats.by_model == {"fake-gpt-large-down": 2}  # one retry, no other model
    health = gateway.health()
    assert health["fake-gpt"].recent_calls == 2 and health["fake-gpt"].recent_success_rate == 0
    assert all(h.recent_calls == 0 for key, h in health.items() if key != "fake-gpt")


async def test_no_fallback_for_a_stream_either(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-llama"], provider_overrides=both_retries(0)
    )
    gateway = make_gateway(catalog)
    with pytest.raises(ProviderUnavailableError) as info:
        async for _ in gateway.stream("fake-llama", ask()):
            pass
    assert info.value.model == "fake-llama"
    assert fake.stats.by_model == {"fake-llama-small-down": 1}


async def test_the_model_asked_is_the_model_recorded(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    """Even when a same-tier model is healthy, a retried answer names the model asked."""
    fake.options.faults = ["server_error"]
    fake.options.fail_rate = 1.0

    async def heal(seconds: float) -> None:
        fake.options.fail_rate = 0.0

    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(2))
    gateway = make_gateway(catalog, sleep=heal)
    done = await gateway.complete("fake-gpt", ask())
    assert done.model == "fake-gpt" and done.provider == "fake-openai"
    assert done.attempts == 2
    assert set(fake.stats.by_model) == {"fake-gpt-large"}
    assert not hasattr(done, "fallback_from")
