"""Circuit breaking over HTTP, and no fallback: the gateway answers for the model asked or
raises (the engine owns the one fallback policy)."""

from __future__ import annotations

import pytest

from orchestratex.core.errors import (
    BadRequestError,
    CircuitOpenError,
    ProviderUnavailableError,
    RateLimitedError,
)
from orchestratex.providers.breaker import BreakerSettings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ManualClock, ask, both_retries


async def test_breaker_opens_then_half_opens_and_reopens(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    clock = ManualClock()
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-grok"], provider_overrides=both_retries(0)
    )
    gateway = make_gateway(catalog, clock=clock)  # the default rule: 10 calls, 85% failed
    for _ in range(10):
        assert gateway.health()["fake-grok"].circuit == "closed"
        with pytest.raises(ProviderUnavailableError):
            await gateway.complete("fake-grok", ask())
    grok = gateway.health()["fake-grok"]
    assert (grok.circuit, grok.circuit_retry_in_s, grok.score) == ("open", 30.0, 0.0)
    assert gateway.health()["fake-gpt"].circuit == "closed"  # same provider, other model

    with pytest.raises(CircuitOpenError):
        await gateway.complete("fake-grok", ask())
    assert fake.stats.by_model["fake-grok-medium-down"] == 10  # refused without a request

    clock.now += 30.0
    assert gateway.health()["fake-grok"].circuit == "half_open"
    with pytest.raises(ProviderUnavailableError):  # a probe goes out and fails
        await gateway.complete("fake-grok", ask())
    assert fake.stats.by_model["fake-grok-medium-down"] == 11
    assert gateway.health()["fake-grok"].circuit == "open"  # one failed probe: a new cooldown
    assert gateway.health()["fake-grok"].circuit_retry_in_s == 30.0


async def test_every_half_open_probe_must_succeed_to_close_the_circuit(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    clock = ManualClock()
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(0))
    breaker = BreakerSettings(window=4, min_calls=3, cooldown_s=10.0, half_open_probes=2)
    gateway = make_gateway(catalog, breaker=breaker, clock=clock)
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
    assert (await gateway.complete("fake-claude", ask())).text
    claude = gateway.health()["fake-claude"]
    assert (claude.circuit, claude.circuit_calls) == ("half_open", 1)  # one probe of two
    assert (await gateway.complete("fake-claude", ask())).text
    claude = gateway.health()["fake-claude"]
    assert (claude.circuit, claude.circuit_calls, claude.circuit_failures) == ("closed", 0, 0)
    assert fake.stats.by_model["fake-claude-large"] == 5  # 3 failures and 2 probes


async def test_client_errors_do_not_count_against_the_circuit(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    """A 404 (a wrong base URL: the request's fault, not the provider's) and 429s leave the
    breaker's window empty, however many there are."""
    wrong_url = fake.openai_base_url.rstrip("/") + "/nowhere"
    overrides: dict[str, dict[str, object]] = {
        "fake-openai": {"base_url": wrong_url, "max_retries": 0},
        "fake-anthropic": {"max_retries": 0},
    }
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=overrides)
    gateway = make_gateway(catalog)
    for _ in range(12):
        with pytest.raises(BadRequestError):
            await gateway.complete("fake-gpt", ask())
    fake.options.faults = ["rate_limit"]
    fake.options.fail_rate = 1.0
    fake.options.retry_after_s = 0.0
    for _ in range(12):
        with pytest.raises(RateLimitedError):
            await gateway.complete("fake-claude", ask())
    health = gateway.health()
    for model in ("fake-gpt", "fake-claude"):
        assert (health[model].circuit, health[model].circuit_calls) == ("closed", 0)
    assert health["fake-claude"].recent_calls == 12  # 429s lower its recent success rate
    assert health["fake-gpt"].recent_calls == 0  # a refused request says nothing of either


async def test_provider_scoped_breaker_covers_all_its_models(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake.openai_base_url, down=["fake-grok"], provider_overrides=both_retries(0)
    )
    breaker = BreakerSettings(window=1, min_calls=1)
    gateway = make_gateway(catalog, breaker=breaker, breaker_scope="provider")
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
