"""The ModelClient the engine uses: adapters plus timeouts, retries, rate limits, circuit
breaking, fallback to another model, cost and latency."""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal

from orchestratex.core.catalog import ModelSpec, ProviderSpec
from orchestratex.core.errors import (
    BadRequestError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from orchestratex.core.performance import ModelHealth
from orchestratex.core.types import (
    Completion,
    CompletionRequest,
    RawCompletion,
    StreamPart,
    TextDelta,
    ToolCallDelta,
)
from orchestratex.providers.base import AdapterFactory, ProviderAdapter, closing_stream
from orchestratex.providers.breaker import CircuitBreaker
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.health import HealthTracker
from orchestratex.providers.keys import resolve_api_key
from orchestratex.providers.pricing import cost_of
from orchestratex.providers.ratelimit import (
    LimiterFactory,
    ProviderLimiter,
    RateLimiter,
    estimate_tokens,
)
from orchestratex.providers.registry import create_adapter
from orchestratex.providers.retry import RetryPolicy

log = logging.getLogger(__name__)

_TIER_RANK = {"small": 0, "medium": 1, "large": 2}
_BREAKER_FAILURES = (ProviderUnavailableError, ProviderTimeoutError, MalformedResponseError)


@dataclass
class _Tally:
    attempts: int = 0
    yielded: bool = False


class Gateway:
    """Calls catalog models by key. Implements `ModelClient` and `HealthSource`.

    Per call: timeout (`request.timeout_s`, else the provider's), up to `max_retries` retries
    of retryable errors (backoff with full jitter, Retry-After honoured up to a cap), the
    provider's rate limits (in this process, or shared through `limiter_factory`; a call that
    gets no slot within its timeout fails with a retryable RateLimitedError), a circuit breaker
    (per model by default, or per provider), and, when `fallback` is on and retries are spent
    on a retryable error, up to `max_fallbacks` other enabled, configured models (same tier
    first). `Completion.latency_ms` is the time of
    the attempt that answered; `attempts` counts every attempt made, across models.
    Streams retry and fall back only before their first delta.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        env: Mapping[str, str] | None = None,
        fallback: bool = True,
        max_fallbacks: int = 2,
        breaker_threshold: int = 5,
        breaker_cooldown_s: float = 30.0,
        breaker_scope: Literal["model", "provider"] = "model",
        retry_base_delay_s: float = 0.5,
        retry_max_delay_s: float = 8.0,
        max_retry_after_s: float = 30.0,
        rate_window_s: float = 60.0,
        health_window: int = 50,
        adapter_factories: Mapping[str, AdapterFactory] | None = None,
        limiter_factory: LimiterFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.catalog = catalog
        self._env = env
        self._fallback = fallback
        self._max_fallbacks = max_fallbacks
        self._breaker_threshold = breaker_threshold
        self._breaker_cooldown_s = breaker_cooldown_s
        self._breaker_scope = breaker_scope
        self._retry_base_delay_s = retry_base_delay_s
        self._retry_max_delay_s = retry_max_delay_s
        self._max_retry_after_s = max_retry_after_s
        self._rate_window_s = rate_window_s
        self._factories = adapter_factories
        self._limiter_factory = limiter_factory or self._local_limiter
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._adapters: dict[str, ProviderAdapter] = {}
        self._limiters: dict[str, ProviderLimiter] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._health = HealthTracker(health_window)

    async def warm_up(self) -> None:
        """Import the SDKs and build the adapters of the available models off the event loop.

        Importing the `openai` and `anthropic` SDKs takes seconds on a small machine; done lazily
        inside the first call, that would stall every other task of the service meanwhile.
        """
        names = sorted({m.provider for m in self.catalog.available(self._env)})
        providers = [self.catalog.providers[name] for name in names]
        built = await asyncio.to_thread(self._build_adapters, providers)
        for name, adapter in built.items():
            self._adapters.setdefault(name, adapter)

    def _build_adapters(self, providers: list[ProviderSpec]) -> dict[str, ProviderAdapter]:
        built: dict[str, ProviderAdapter] = {}
        for provider in providers:
            if provider.name in self._adapters:
                continue
            key = resolve_api_key(provider, self._env)
            built[provider.name] = create_adapter(provider, key, self._factories)
        return built

    # --- parts kept per provider / model -------------------------------------------------

    def _adapter(self, provider: ProviderSpec) -> ProviderAdapter:
        adapter = self._adapters.get(provider.name)
        if adapter is None:
            key = resolve_api_key(provider, self._env)
            adapter = create_adapter(provider, key, self._factories)
            self._adapters[provider.name] = adapter
        return adapter

    def _local_limiter(self, provider: ProviderSpec) -> ProviderLimiter:
        return RateLimiter(
            requests=provider.requests_per_minute,
            tokens=provider.tokens_per_minute,
            window_s=self._rate_window_s,
            clock=self._clock,
            sleep=self._sleep,
            name=provider.name,
        )

    def _limiter(self, provider: ProviderSpec) -> ProviderLimiter:
        limiter = self._limiters.get(provider.name)
        if limiter is None:
            limiter = self._limiter_factory(provider)
            self._limiters[provider.name] = limiter
        return limiter

    def _breaker(self, spec: ModelSpec) -> CircuitBreaker:
        name = spec.key if self._breaker_scope == "model" else spec.provider
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                name,
                threshold=self._breaker_threshold,
                cooldown_s=self._breaker_cooldown_s,
                clock=self._clock,
            )
            self._breakers[name] = breaker
        return breaker

    def _policy(self, provider: ProviderSpec) -> RetryPolicy:
        return RetryPolicy(
            max_retries=provider.max_retries,
            base_delay_s=self._retry_base_delay_s,
            max_delay_s=self._retry_max_delay_s,
            max_retry_after_s=self._max_retry_after_s,
        )

    # --- bookkeeping -------------------------------------------------------------------------

    def _record_failure(self, spec: ModelSpec, breaker: CircuitBreaker, err: ProviderError) -> None:
        err.model = spec.key
        if isinstance(err, _BREAKER_FAILURES):
            breaker.record_failure()
        else:
            breaker.record_neutral()
        if not isinstance(err, BadRequestError):
            self._health.record_failure(spec.key, f"{err.code}: {err.message}")

    def _completion(self, spec: ModelSpec, raw: RawCompletion, latency_ms: float) -> Completion:
        cost, known = cost_of(self.catalog.price(spec.key), raw.usage)
        return Completion(
            model=spec.key,
            provider=spec.provider,
            text=raw.text,
            usage=raw.usage,
            cost_usd=cost,
            cost_known=known,
            latency_ms=latency_ms,
            finish_reason=raw.finish_reason,
            tool_calls=raw.tool_calls,
        )

    def _with_timeout(
        self, provider: ProviderSpec, request: CompletionRequest
    ) -> CompletionRequest:
        timeout = request.timeout_s if request.timeout_s is not None else provider.timeout_s
        return request.model_copy(update={"timeout_s": timeout})

    def _timeout_error(self, spec: ModelSpec, seconds: float) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{spec.provider} model {spec.key!r}: no answer within {seconds:g}s",
            provider=spec.provider,
            model=spec.key,
        )

    def _next_model(
        self, first: str, tried: list[str], err: ProviderError, request: CompletionRequest
    ) -> str | None:
        """The fallback after `err`, or None: an enabled, configured, healthy model not yet
        tried whose context fits the request; same tier first, then nearest tiers."""
        if not (self._fallback and err.retryable) or len(tried) > self._max_fallbacks:
            return None
        origin = self.catalog.get(first)
        health = self.health()
        options = [
            m
            for m in self.catalog.available(self._env)
            if m.key not in tried
            and health[m.key].score > 0
            and estimate_tokens(request) <= m.context_window
        ]
        if not options:
            return None
        order = list(self.catalog.models)
        options.sort(
            key=lambda m: (
                abs(_TIER_RANK[m.tier] - _TIER_RANK[origin.tier]),
                m.provider == origin.provider,
                -health[m.key].score,
                order.index(m.key),
            )
        )
        chosen = options[0].key
        log.warning("falling back from %s to %s after %s: %s", tried[-1], chosen, err.code, err)
        return chosen

    async def _backoff(
        self, spec: ModelSpec, policy: RetryPolicy, err: ProviderError, n: int
    ) -> bool:
        """Sleep before retry `n + 1` and return True, or return False when out of retries."""
        if not policy.should_retry(err, n):
            return False
        delay = policy.delay_s(err, n, self._random)
        log.info("retrying %s in %.2fs after %s: %s", spec.key, delay, err.code, err)
        await self._sleep(delay)
        return True

    # --- complete ----------------------------------------------------------------------------

    async def _attempt(
        self, spec: ModelSpec, provider: ProviderSpec, request: CompletionRequest, tally: _Tally
    ) -> Completion:
        breaker = self._breaker(spec)
        breaker.allow(provider=spec.provider, model=spec.key)
        tally.attempts += 1
        assert request.timeout_s is not None
        try:
            adapter = self._adapter(provider)
            estimate = estimate_tokens(request)
            reservation = await self._limiter(provider).acquire(
                estimate, timeout_s=request.timeout_s
            )
            start = self._clock()
            try:
                async with asyncio.timeout(request.timeout_s):
                    raw = await adapter.complete(spec.model_id, request)
            except TimeoutError:
                raise self._timeout_error(spec, request.timeout_s) from None
        except ProviderError as err:
            self._record_failure(spec, breaker, err)
            raise
        except BaseException:
            breaker.record_neutral()
            raise
        latency_ms = max(0.0, (self._clock() - start) * 1000.0)
        reservation.settle(raw.usage.total_tokens)
        breaker.record_success()
        self._health.record_success(spec.key, latency_ms)
        return self._completion(spec, raw, latency_ms)

    async def complete(self, model: str, request: CompletionRequest) -> Completion:
        """The answer of `model` (a catalog key), or of a fallback model; raises ProviderError."""
        self.catalog.get(model)
        tried: list[str] = []
        tally = _Tally()
        current: str | None = model
        while current is not None:
            tried.append(current)
            spec = self.catalog.get(current)
            provider = self.catalog.providers[spec.provider]
            policy = self._policy(provider)
            req = self._with_timeout(provider, request)
            retries = 0
            while True:
                try:
                    done = await self._attempt(spec, provider, req, tally)
                except ProviderError as err:
                    if await self._backoff(spec, policy, err, retries):
                        retries += 1
                        continue
                    current = self._next_model(model, tried, err, request)
                    if current is None:
                        raise
                    break
                return done.model_copy(
                    update={
                        "attempts": max(1, tally.attempts),
                        "fallback_from": model if spec.key != model else None,
                    }
                )
        raise AssertionError("unreachable")  # pragma: no cover

    # --- stream ------------------------------------------------------------------------------

    async def _stream_attempt(
        self, spec: ModelSpec, provider: ProviderSpec, request: CompletionRequest, tally: _Tally
    ) -> AsyncGenerator[StreamPart, None]:
        breaker = self._breaker(spec)
        breaker.allow(provider=spec.provider, model=spec.key)
        tally.attempts += 1
        timeout = request.timeout_s
        assert timeout is not None
        try:
            adapter = self._adapter(provider)
            estimate = estimate_tokens(request)
            reservation = await self._limiter(provider).acquire(estimate, timeout_s=timeout)
            start = self._clock()
            async with closing_stream(adapter.stream(spec.model_id, request)) as parts:
                while True:
                    try:
                        async with asyncio.timeout(timeout):
                            part = await anext(parts)
                    except TimeoutError:
                        raise self._timeout_error(spec, timeout) from None
                    except StopAsyncIteration:
                        raise MalformedResponseError(
                            f"{spec.provider} model {spec.key!r}: stream ended without a result",
                            provider=spec.provider,
                            model=spec.key,
                        ) from None
                    if isinstance(part, TextDelta | ToolCallDelta):
                        tally.yielded = True
                        yield part
                        continue
                    latency_ms = max(0.0, (self._clock() - start) * 1000.0)
                    reservation.settle(part.usage.total_tokens)
                    breaker.record_success()
                    self._health.record_success(spec.key, latency_ms)
                    yield self._completion(spec, part, latency_ms)
                    return
        except ProviderError as err:
            self._record_failure(spec, breaker, err)
            raise
        except BaseException:
            breaker.record_neutral()
            raise

    async def stream(self, model: str, request: CompletionRequest) -> AsyncIterator[StreamPart]:
        """Text deltas, then one Completion. Retries/fallback happen only before the first delta."""
        self.catalog.get(model)
        tried: list[str] = []
        tally = _Tally()
        current: str | None = model
        while current is not None:
            tried.append(current)
            spec = self.catalog.get(current)
            provider = self.catalog.providers[spec.provider]
            policy = self._policy(provider)
            req = self._with_timeout(provider, request)
            retries = 0
            while True:
                try:
                    async with aclosing(self._stream_attempt(spec, provider, req, tally)) as parts:
                        async for part in parts:
                            if isinstance(part, Completion):
                                part = part.model_copy(
                                    update={
                                        "attempts": max(1, tally.attempts),
                                        "fallback_from": model if spec.key != model else None,
                                    }
                                )
                            yield part
                    return
                except ProviderError as err:
                    if tally.yielded:
                        raise
                    if await self._backoff(spec, policy, err, retries):
                        retries += 1
                        continue
                    current = self._next_model(model, tried, err, request)
                    if current is None:
                        raise
                    break

    # --- health and shutdown -------------------------------------------------------------------

    def health(self) -> dict[str, ModelHealth]:
        """Live health of every catalog model (circuit, recent success rate, latency p50)."""
        result: dict[str, ModelHealth] = {}
        for key, spec in self.catalog.models.items():
            result[key] = self._health.snapshot(
                key,
                spec.provider,
                circuit=self._breaker(spec).state,
                configured=self.catalog.is_configured(spec.provider, self._env),
            )
        return result

    async def aclose(self) -> None:
        """Close every SDK client opened so far, then the rate limiters."""
        adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            await adapter.aclose()
        limiters, self._limiters = list(self._limiters.values()), {}
        for limiter in limiters:
            await limiter.aclose()
