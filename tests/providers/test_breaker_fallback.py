"""Circuit breaking and fallback to another model, over HTTP."""

from __future__ import annotations

import pytest

from orchestratex.core.errors import CircuitOpenError, ProviderUnavailableError
from orchestratex.core.types import Completion
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
    gateway = make_gateway(
        catalog, fallback=False, breaker_threshold=2, breaker_cooldown_s=30.0, clock=clock
    )
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
    gateway = make_gateway(
        catalog, fallback=False, breaker_threshold=3, breaker_cooldown_s=10.0, clock=clock
    )
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
    gateway = make_gateway(catalog, fallback=False, breaker_threshold=1, breaker_scope="provider")
    with pytest.raises(ProviderUnavailableError):
        await gateway.complete("fake-grok", ask())
    with pytest.raises(CircuitOpenError):
        await gateway.complete("fake-gpt", ask())
    assert gateway.health()["fake-claude"].circuit == "closed"


async def test_fallback_to_a_same_tier_model_when_one_is_down(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-gpt"], provider_overrides=both_retries(1)
    )
    gateway = make_gateway(catalog)
    done = await gateway.complete("fake-gpt", ask())
    assert done.fallback_from == "fake-gpt"
    assert done.model == "fake-claude"  # the other large model
    assert done.attempts == 3  # two on the down model, one on the fallback
    assert done.cost_usd > 0
    assert fake.stats.by_model["fake-gpt-large-down"] == 2


async def test_stream_falls_back_before_any_text(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-llama"], provider_overrides=both_retries(0)
    )
    gateway = make_gateway(catalog)
    parts = [part async for part in gateway.stream("fake-llama", ask())]
    final = parts[-1]
    assert isinstance(final, Completion)
    assert final.fallback_from == "fake-llama" and final.model == "fake-mistral"


async def test_fallback_moves_to_other_tiers_and_skips_unconfigured(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url,
        models=["fake-gpt", "fake-claude", "fake-qwen"],
        down=["fake-gpt"],
        provider_overrides={
            "fake-openai": {"max_retries": 0},
            "fake-anthropic": {"max_retries": 0, "api_key_env": "ORX_TEST_UNSET_KEY"},
        },
    )
    gateway = make_gateway(catalog, env={})
    done = await gateway.complete("fake-gpt", ask())
    assert done.model == "fake-qwen" and done.fallback_from == "fake-gpt"


async def test_no_fallback_when_disabled_or_nothing_left(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-gpt"], provider_overrides=both_retries(0)
    )
    with pytest.raises(ProviderUnavailableError):
        await make_gateway(catalog, fallback=False).complete("fake-gpt", ask())
    only = fake_catalog(
        fake.openai_base_url,
        models=["fake-gpt"],
        down=["fake-gpt"],
        provider_overrides=both_retries(0),
    )
    with pytest.raises(ProviderUnavailableError):
        await make_gateway(only).complete("fake-gpt", ask())
