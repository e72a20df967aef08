"""The ModelClient the engine uses: one catalog model per call, with timeouts, retries, rate
limits, circuit breaking, cost and latency. It never substitutes another model: the engine
owns the one fallback policy (within the allowed models and the budget)."""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Literal

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.performance import ModelHealth
from orchestratex.core.types import Completion, CompletionRequest, StreamPart
from orchestratex.providers.attempts import CallPolicy, complete_body, stream_body
from orchestratex.providers.base import AdapterFactory
from orchestratex.providers.breaker import BreakerSettings
from orchestratex.providers.capabilities import fitted
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.health import HealthTracker
from orchestratex.providers.model_parts import (
    Breakers,
    ModelParts,
    ModelPartsCache,
    RetrySettings,
)
from orchestratex.providers.ratelimit import LimiterFactory, ProviderLimiter, RateLimiter


class Gateway:
    """Calls catalog models by key. Implements `ModelClient` and `HealthSource`.

    Per call of the model asked for: timeout (`request.timeout_s`, else the provider's), up to
    the provider's `max_retries` retries of retryable errors (backoff with full jitter,
    Retry-After honoured up to a cap), the provider's rate limits (in this process, or shared
    through `limiter_factory`; a call that gets no slot within its timeout fails with a
    retryable RateLimitedError) and a circuit breaker (per model by default, or per provider)
    that opens on the failure rate of its latest calls (`BreakerSettings`). `on_breaker_open`
    hears of each circuit this gateway opens, and `peer_opened` opens one that another instance
    opened (runtime/shared_breakers.py carries both through Redis).
    `complete` and `stream` share that one attempt loop (`providers.attempts`); a stream is
    retried only before its first delta. When retries are spent the error propagates: the
    `Completion` returned always names the model asked for. `latency_ms` is the time of the
    attempt that answered; `attempts` counts every attempt made.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        env: Mapping[str, str] | None = None,
        breaker: BreakerSettings | None = None,
        breaker_scope: Literal["model", "provider"] = "model",
        retry_base_delay_s: float = 0.5,
        retry_max_delay_s: float = 8.0,
        max_retry_after_s: float = 30.0,
        rate_window_s: float = 60.0,
        health_window: int = 50,
        adapter_factories: Mapping[str, AdapterFactory] | None = None,
        limiter_factory: LimiterFactory | None = None,
        on_breaker_open: Callable[[str, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.catalog = catalog
        self._env = env
        self._rate_window_s = rate_window_s
        self._clock = clock
        self._sleep = sleep
        self._breakers = Breakers(
            scope=breaker_scope,
            settings=breaker or BreakerSettings(),
            clock=clock,
            on_open=on_breaker_open,
        )
        self._breaker_scope = breaker_scope
        self._parts = ModelPartsCache(
            catalog,
            env=env,
            adapter_factories=adapter_factories,
            limiter_factory=limiter_factory or self._local_limiter,
            breakers=self._breakers,
            retry=RetrySettings(
                base_delay_s=retry_base_delay_s,
                max_delay_s=retry_max_delay_s,
                max_retry_after_s=max_retry_after_s,
            ),
        )
        self._health = HealthTracker(health_window, clock=clock)
        self._policy = CallPolicy(self._health, clock=clock, sleep=sleep, random=random)

    def _local_limiter(self, provider: ProviderSpec) -> ProviderLimiter:
        return RateLimiter(
            requests=provider.requests_per_minute,
            tokens=provider.tokens_per_minute,
            window_s=self._rate_window_s,
            clock=self._clock,
            sleep=self._sleep,
            name=provider.name,
        )

    async def warm_up(self) -> None:
        """Import the SDKs and build the adapters of the available models off the event loop.

        Importing the `openai` and `anthropic` SDKs takes seconds on a small machine; done lazily
        inside the first call, that would stall every other task of the service meanwhile.
        """
        await self._parts.warm_up()

    async def complete(self, model: str, request: CompletionRequest) -> Completion:
        """The answer of `model` (a catalog key); raises ProviderError when it has none."""
        final: StreamPart | None = None
        parts = self._parts.get(model)
        request = self._fit(parts, request)
        async for part in self._policy.run(parts, request, complete_body):
            final = part
        assert isinstance(final, Completion)
        return final

    async def stream(self, model: str, request: CompletionRequest) -> AsyncIterator[StreamPart]:
        """Text deltas, then one Completion. Retries happen only before the first delta."""
        model_parts = self._parts.get(model)
        request = self._fit(model_parts, request)
        parts = self._policy.run(model_parts, request, stream_body)
        async with aclosing(parts):
            async for part in parts:
                yield part

    def _fit(self, parts: ModelParts, request: CompletionRequest) -> CompletionRequest:
        """The request as this model takes it: a judge's sampling options its protocol lacks
        left out (`fitted`), and `max_tokens` within the model's own output limit (the rule
        admission applied already for a run's calls, so this changes nothing for them)."""
        request = fitted(self.catalog.providers[parts.provider].protocol, request)
        return request.within_output_limit(parts.max_output_tokens)

    def peer_opened(self, name: str, remaining_s: float) -> bool:
        """Another instance's circuit `name` (a model key, or a provider name when breakers are
        per provider) opened: refuse its calls here too for `remaining_s`. False when the name
        means nothing here (another catalog)."""
        known = self.catalog.models if self._breaker_scope == "model" else self.catalog.providers
        if name not in known:
            return False
        self._breakers.named(name).open_from_peer(remaining_s)
        return True

    def health(self) -> dict[str, ModelHealth]:
        """Live health of every catalog model (circuit and its window, recent success rate,
        latency p50)."""
        result: dict[str, ModelHealth] = {}
        for key, spec in self.catalog.models.items():
            result[key] = self._health.snapshot(
                key,
                spec.provider,
                self._breakers.of(spec).view(),
                configured=self.catalog.is_configured(spec.provider, self._env),
            )
        return result

    async def aclose(self) -> None:
        """Close every SDK client opened so far, then the rate limiters."""
        await self._parts.aclose()
