"""What one catalog model's calls need, resolved once and kept: adapter, limiter, breaker,
retry policy, price and default timeout.

Adapters and limiters belong to a provider (one SDK client, one set of rate counts); breakers
to a model or a provider (`breaker_scope`). `ModelPartsCache.get` builds a model's parts on
its first call and returns the same object afterwards, so a call does no lookups, parsing or
allocation to find them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from orchestratex.core.catalog import ModelSpec, Price, ProviderSpec
from orchestratex.providers.base import AdapterFactory, ProviderAdapter
from orchestratex.providers.breaker import BreakerSettings, CircuitBreaker
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.keys import resolve_api_key
from orchestratex.providers.ratelimit import LimiterFactory, ProviderLimiter
from orchestratex.providers.registry import create_adapter
from orchestratex.providers.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class ModelParts:
    """The parts of one model's calls. `key` is the catalog key, `model_id` the provider's."""

    key: str
    model_id: str
    provider: str
    adapter: ProviderAdapter
    limiter: ProviderLimiter
    breaker: CircuitBreaker
    retry: RetryPolicy
    price: Price | None
    timeout_s: float
    """The provider's timeout, used when a request sets none."""
    open_calls: asyncio.Semaphore | None = None
    """The provider's `max_concurrent` cap in this process (None: no cap), shared by its models."""
    max_output_tokens: int | None = None
    """The model's own output limit, when the catalog knows it."""


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Backoff settings shared by every provider (each provider sets its own retry count)."""

    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 30.0

    def policy(self, provider: ProviderSpec) -> RetryPolicy:
        return RetryPolicy(
            max_retries=provider.max_retries,
            base_delay_s=self.base_delay_s,
            max_delay_s=self.max_delay_s,
            max_retry_after_s=self.max_retry_after_s,
        )


class Breakers:
    """One circuit breaker per model, or per provider when `scope` is "provider"."""

    def __init__(
        self,
        *,
        scope: Literal["model", "provider"],
        settings: BreakerSettings,
        clock: Callable[[], float],
        on_open: Callable[[str, float], None] | None = None,
    ) -> None:
        self._scope = scope
        self._settings = settings
        self._clock = clock
        self._on_open = on_open
        self._by_name: dict[str, CircuitBreaker] = {}

    def of(self, spec: ModelSpec) -> CircuitBreaker:
        return self.named(spec.key if self._scope == "model" else spec.provider)

    def named(self, name: str) -> CircuitBreaker:
        """The breaker of a model key (scope "model") or provider name (scope "provider")."""
        breaker = self._by_name.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                name, settings=self._settings, clock=self._clock, on_open=self._on_open
            )
            self._by_name[name] = breaker
        return breaker


class ModelPartsCache:
    """Builds each model's `ModelParts` once; adapters and limiters are shared per provider."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        env: Mapping[str, str] | None,
        adapter_factories: Mapping[str, AdapterFactory] | None,
        limiter_factory: LimiterFactory,
        breakers: Breakers,
        retry: RetrySettings,
    ) -> None:
        self._catalog = catalog
        self._env = env
        self._factories = adapter_factories
        self._limiter_factory = limiter_factory
        self._breakers = breakers
        self._retry = retry
        self._parts: dict[str, ModelParts] = {}
        self._adapters: dict[str, ProviderAdapter] = {}
        self._limiters: dict[str, ProviderLimiter] = {}
        self._policies: dict[str, RetryPolicy] = {}
        self._caps: dict[str, asyncio.Semaphore] = {}

    def get(self, key: str) -> ModelParts:
        """The parts of catalog model `key` (UnknownModelError, or ConfigurationError when its
        provider's key is missing)."""
        parts = self._parts.get(key)
        if parts is None:
            parts = self._build(self._catalog.get(key))
            self._parts[key] = parts
        return parts

    def _build(self, spec: ModelSpec) -> ModelParts:
        provider = self._catalog.providers[spec.provider]
        policy = self._policies.get(provider.name)
        if policy is None:
            policy = self._policies[provider.name] = self._retry.policy(provider)
        return ModelParts(
            key=spec.key,
            model_id=spec.model_id,
            provider=spec.provider,
            adapter=self._adapter(provider),
            limiter=self._limiter(provider),
            breaker=self._breakers.of(spec),
            retry=policy,
            price=self._catalog.price(spec.key),
            timeout_s=provider.timeout_s,
            open_calls=self._cap(provider),
            max_output_tokens=spec.max_output_tokens,
        )

    def _cap(self, provider: ProviderSpec) -> asyncio.Semaphore | None:
        if provider.max_concurrent is None:
            return None
        cap = self._caps.get(provider.name)
        if cap is None:
            cap = self._caps[provider.name] = asyncio.Semaphore(provider.max_concurrent)
        return cap

    def _adapter(self, provider: ProviderSpec) -> ProviderAdapter:
        adapter = self._adapters.get(provider.name)
        if adapter is None:
            adapter = self._new_adapter(provider)
            self._adapters[provider.name] = adapter
        return adapter

    def _new_adapter(self, provider: ProviderSpec) -> ProviderAdapter:
        return create_adapter(provider, resolve_api_key(provider, self._env), self._factories)

    def _limiter(self, provider: ProviderSpec) -> ProviderLimiter:
        limiter = self._limiters.get(provider.name)
        if limiter is None:
            limiter = self._limiters[provider.name] = self._limiter_factory(provider)
        return limiter

    async def warm_up(self) -> None:
        """Build the adapters of the available models' providers off the event loop (importing
        the SDKs takes seconds on a small machine), then every available model's parts."""
        available = self._catalog.available(self._env)
        names = sorted({m.provider for m in available} - set(self._adapters))
        missing = [self._catalog.providers[name] for name in names]
        built = await asyncio.to_thread(lambda: [self._new_adapter(p) for p in missing])
        for provider, adapter in zip(missing, built, strict=True):
            self._adapters.setdefault(provider.name, adapter)
        for spec in available:
            self.get(spec.key)

    async def aclose(self) -> None:
        """Close every SDK client opened so far, then the limiters; later calls rebuild."""
        adapters, self._adapters = list(self._adapters.values()), {}
        limiters, self._limiters = list(self._limiters.values()), {}
        self._parts = {}
        for adapter in adapters:
            await adapter.aclose()
        for limiter in limiters:
            await limiter.aclose()
