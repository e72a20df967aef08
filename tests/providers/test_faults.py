"""Injected faults: typed errors when retries are spent, recovery when they are not."""

from __future__ import annotations

import asyncio
import time

import pytest

from orchestratex.core.errors import (
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from orchestratex.core.types import Completion, TextDelta
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer, FaultKind
from orchestratex.testing.fake_provider.options import ALL_FAULTS
from tests.providers.conftest import NO_BREAKER, GatewayFactory, ask, both_retries

EXPECTED: dict[FaultKind, type[ProviderError]] = {
    "rate_limit": RateLimitedError,
    "server_error": ProviderUnavailableError,
    "timeout": ProviderTimeoutError,
    "malformed": MalformedResponseError,
    "cut": ProviderUnavailableError,  # a truncated non-stream body: the connection closed early
    "overloaded": ProviderUnavailableError,  # 529 / 503; in a stream, an error event
}
STREAM_EXPECTED: dict[FaultKind, type[ProviderError]] = {
    **EXPECTED,
    "cut": MalformedResponseError,
}
FAULTS: list[FaultKind] = [*ALL_FAULTS, "overloaded"]
MODELS = ["fake-gpt", "fake-claude"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fault", FAULTS)
async def test_fault_without_retries_is_a_clean_typed_error(
    make_gateway: GatewayFactory, fake: FakeProviderServer, fault: FaultKind, model: str
) -> None:
    fake.options.faults = [fault]
    fake.options.fail_rate = 1.0
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(0), timeout_s=2)
    gateway = make_gateway(catalog)
    with pytest.raises(ProviderError) as info:
        await gateway.complete(model, ask())
    assert type(info.value) is EXPECTED[fault]
    assert info.value.model == model
    assert info.value.provider == gateway.catalog.get(model).provider
    assert fake.stats.faults == {fault: 1}
    if fault == "rate_limit":
        assert isinstance(info.value, RateLimitedError)
        assert info.value.retry_after_s == pytest.approx(0.2)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fault", FAULTS)
async def test_stream_fault_without_retries_is_a_clean_typed_error(
    make_gateway: GatewayFactory, fake: FakeProviderServer, fault: FaultKind, model: str
) -> None:
    fake.options.faults = [fault]
    fake.options.fail_rate = 1.0
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(0), timeout_s=2)
    gateway = make_gateway(catalog)
    with pytest.raises(ProviderError) as info:
        async for _ in gateway.stream(model, ask()):
            pass
    assert type(info.value) is STREAM_EXPECTED[fault]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fault", FAULTS)
async def test_fault_recovered_by_a_retry(
    make_gateway: GatewayFactory, fake: FakeProviderServer, fault: FaultKind, model: str
) -> None:
    fake.options.faults = [fault]
    fake.options.fail_rate = 1.0
    waits: list[float] = []

    async def heal_then_sleep(seconds: float) -> None:
        waits.append(seconds)
        fake.options.fail_rate = 0.0
        await asyncio.sleep(0)

    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(2), timeout_s=2)
    gateway = make_gateway(catalog, sleep=heal_then_sleep)
    done = await gateway.complete(model, ask())
    assert done.attempts == 2 and done.model == model and done.text
    assert len(waits) == 1
    assert fake.stats.faults == {fault: 1}
    health = gateway.health()[model]
    assert health.recent_calls == 2 and health.recent_success_rate == 0.5
    # Every key reads model health: the code only, never the provider's text (which may
    # quote a caller's request).
    assert health.last_error in {
        "rate_limited",
        "provider_unavailable",
        "provider_timeout",
        "malformed_response",
    }
    assert "fake provider" not in health.last_error


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "timeout"])
async def test_stream_fault_before_first_delta_is_retried(
    make_gateway: GatewayFactory, fake: FakeProviderServer, fault: FaultKind, model: str
) -> None:
    fake.options.faults = [fault]
    fake.options.fail_rate = 1.0

    async def heal(seconds: float) -> None:
        fake.options.fail_rate = 0.0

    gateway = make_gateway(sleep=heal)
    parts = [part async for part in gateway.stream(model, ask())]
    final = parts[-1]
    assert isinstance(final, Completion) and final.attempts == 2
    assert final.text == "".join(p.text for p in parts if isinstance(p, TextDelta))


@pytest.mark.parametrize("model", MODELS)
async def test_stream_cut_after_first_delta_is_not_retried(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    fake.options.faults = ["cut"]
    fake.options.fail_rate = 1.0
    gateway = make_gateway()
    seen: list[str] = []
    with pytest.raises(MalformedResponseError):
        async for part in gateway.stream(model, ask()):
            assert isinstance(part, TextDelta)
            seen.append(part.text)
    assert seen, "the cut happens after some text was streamed"
    assert sum(fake.stats.by_model.values()) == 1  # no retry, no fallback after text went out


async def test_gateway_timeout_shorter_than_the_hang(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    fake.options.faults = ["timeout"]
    fake.options.fail_rate = 1.0
    fake.options.hang_s = 5.0
    gateway = make_gateway()
    start = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await gateway.complete("fake-gpt", ask(timeout_s=0.2))
    elapsed = time.monotonic() - start
    assert elapsed < 2.0  # 3 attempts of 0.2 s plus tiny backoff, far below hang_s


async def test_hundred_calls_at_30_percent_faults_end_cleanly_and_quickly(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    fake.options.fail_rate = 0.3
    fake.options.seed = 7
    fake.options.hang_s = 0.3
    fake.options.retry_after_s = 0.01
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=both_retries(1), timeout_s=0.15)
    gateway = make_gateway(catalog, breaker=NO_BREAKER)
    answered = failed = 0
    start = time.monotonic()
    for i in range(100):
        model = "fake-claude" if i % 4 == 0 else "fake-gpt"
        try:
            done = await gateway.complete(model, ask(f"question {i}"))
        except ProviderError as err:
            failed += 1
            assert err.retryable
        else:
            answered += 1
            assert done.text and done.usage.output_tokens > 0
    elapsed = time.monotonic() - start
    assert answered + failed == 100
    assert answered >= 90  # 30% faults, one retry and a fallback: most calls still succeed
    assert sum(fake.stats.faults.values()) > 10
    assert elapsed < 40.0
