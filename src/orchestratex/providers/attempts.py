"""The one attempt loop behind `Gateway.complete` and `Gateway.stream`.

`CallPolicy.run` calls one model until it answers or must give up: before each attempt the
circuit breaker is asked (an open circuit is not retried), then the provider's rate limiter
grants a slot; the attempt's body talks to the adapter under the call's timeout; a retryable
error is retried after a backoff with full jitter (Retry-After honoured up to a cap) while the
provider's retries last and, for a stream, until its first text delta went out. Every
outcome is recorded once: breaker (a success, or a failure when the error is a
`provider_fault`; anything else is neutral), health and, on success, the limiter's real token
count. A call stopped (cancelled, closed) before any attempt's request left, still waiting in
the limiter or for a `max_concurrent` place, has its exception marked `mark_never_sent`, so
admission releases its hold at nothing.

The body is an async generator of `TextDelta` parts ending with one `Completion`, built by
`Attempt.succeed` from the adapter's `RawCompletion`; `complete` uses a body of one part.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TypeVar

from orchestratex.core.errors import (
    BadRequestError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    mark_never_sent,
)
from orchestratex.core.types import (
    Completion,
    CompletionRequest,
    RawCompletion,
    StreamPart,
    TextDelta,
    ToolCallDelta,
)
from orchestratex.providers.breaker import Permit
from orchestratex.providers.health import HealthTracker
from orchestratex.providers.model_parts import ModelParts
from orchestratex.providers.pricing import cost_of
from orchestratex.providers.ratelimit import Slot, estimate_tokens
from orchestratex.providers.step_timer import StepTimer

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class Attempt:
    """One try at one model: a limiter slot, the timeout, and the outcome's bookkeeping."""

    __slots__ = (
        "parts",
        "number",
        "timeout_s",
        "_policy",
        "_permit",
        "_slot",
        "_started",
        "_over",
        "_steps",
        "_capped",
    )

    def __init__(
        self,
        policy: CallPolicy,
        parts: ModelParts,
        permit: Permit,
        number: int,
        timeout_s: float,
    ):
        self.parts = parts
        self.number = number
        """1 for the first attempt, 2 for the first retry..."""
        self.timeout_s = timeout_s
        self._policy = policy
        self._permit = permit
        self._slot: Slot | None = None
        self._started = 0.0
        self._over = False
        self._steps = StepTimer(timeout_s, self._timeout_error)
        self._capped = False

    async def open(self, tokens: int) -> None:
        """Wait for a place under the provider's `max_concurrent` cap, then for a limiter slot
        for a call of about `tokens` tokens; start the clock."""
        cap = self.parts.open_calls
        if cap is not None:
            try:
                async with asyncio.timeout(self.timeout_s):  # no task per waiting call
                    await cap.acquire()
            except TimeoutError:
                raise self._cap_error() from None
            self._capped = True
        self._slot = await self.parts.limiter.acquire(tokens, timeout_s=self.timeout_s)
        self._started = self._policy.clock()

    def _cap_error(self) -> RateLimitedError:
        parts = self.parts
        return RateLimitedError(
            f"{parts.provider}: its max_concurrent calls were all still open after "
            f"{self.timeout_s:g}s",
            provider=parts.provider,
            model=parts.key,
            status=None,
        )

    def timed(self, step: Awaitable[_T]) -> Awaitable[_T]:
        """`step` under the call's timeout (each step gets all of it); a ProviderTimeoutError
        when it takes longer."""
        return self._steps.step(step)

    def _timeout_error(self) -> ProviderTimeoutError:
        parts = self.parts
        return ProviderTimeoutError(
            f"{parts.provider} model {parts.key!r}: no answer within {self.timeout_s:g}s",
            provider=parts.provider,
            model=parts.key,
        )

    def close(self) -> None:
        self._steps.close()
        if self._capped:
            self._capped = False
            cap = self.parts.open_calls
            assert cap is not None
            cap.release()

    def succeed(self, raw: RawCompletion) -> Completion:
        """Record the served answer and price it: the Completion of this call."""
        parts = self.parts
        latency_ms = max(0.0, (self._policy.clock() - self._started) * 1000.0)
        self._over = True
        if self._slot is not None:
            self._slot.settle(raw.usage.total_tokens)
        parts.breaker.record_success(self._permit)
        self._policy.health.record_success(parts.key, latency_ms)
        cost, known = cost_of(parts.price, raw.usage)
        return Completion(
            model=parts.key,
            provider=parts.provider,
            text=raw.text,
            usage=raw.usage,
            cost_usd=cost,
            cost_known=known,
            latency_ms=latency_ms,
            finish_reason=raw.finish_reason,
            attempts=self.number,
            tool_calls=raw.tool_calls,
            confidence=raw.confidence,
        )

    def failed(self, err: ProviderError) -> None:
        """Record a failed attempt; the error names the catalog model."""
        self._over = True
        err.model = self.parts.key
        if err.provider_fault:
            self.parts.breaker.record_failure(self._permit)
        else:
            self.parts.breaker.record_neutral(self._permit)
        if not isinstance(err, BadRequestError):
            # Its code only: a provider's message may quote the request, and every key sees
            # model health.
            self._policy.health.record_failure(self.parts.key, err.code)

    def abandoned(self) -> None:
        """The attempt ended without telling anything of the provider (cancelled, closed)."""
        if not self._over:
            self._over = True
            self.parts.breaker.record_neutral(self._permit)


AttemptBody = Callable[[Attempt, CompletionRequest], AsyncGenerator[StreamPart, None]]
"""Makes one attempt's adapter call: text deltas, then `attempt.succeed(raw)`."""


class CallPolicy:
    """Retries, breaker, limiter, timeout and health around attempt bodies, for any model."""

    def __init__(
        self,
        health: HealthTracker,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        random: Callable[[], float],
    ) -> None:
        self.health = health
        self.clock = clock
        self._sleep = sleep
        self._random = random

    async def run(
        self, parts: ModelParts, request: CompletionRequest, body: AttemptBody
    ) -> AsyncGenerator[StreamPart, None]:
        """The parts of the first attempt that answers; raises the ProviderError that ended
        the call. No retry once a text delta was yielded."""
        timeout_s = request.timeout_s if request.timeout_s is not None else parts.timeout_s
        tokens = estimate_tokens(request)
        number = 0
        sent = False
        while True:
            permit = parts.breaker.allow(provider=parts.provider, model=parts.key)
            number += 1
            attempt = Attempt(self, parts, permit, number, timeout_s)
            streamed = False
            try:
                await attempt.open(tokens)
                sent = True  # the adapter's SDK call starts now: the request leaves
                async with aclosing(body(attempt, request)) as parts_of_attempt:
                    async for part in parts_of_attempt:
                        streamed = streamed or isinstance(part, TextDelta | ToolCallDelta)
                        yield part
                return
            except ProviderError as err:
                attempt.failed(err)
                if streamed or not parts.retry.should_retry(err, number - 1):
                    raise
                if isinstance(err, ProviderTimeoutError) and not request.retry_timeouts:
                    raise
                delay = parts.retry.delay_s(err, number - 1, self._random)
                log.info("retrying %s in %.2fs after %s: %s", parts.key, delay, err.code, err)
            except BaseException as exc:
                attempt.abandoned()
                if not sent:  # stopped in a queue: a limiter slot, a max_concurrent place
                    mark_never_sent(exc)
                raise
            finally:
                attempt.close()
            await self._sleep(delay)


async def complete_body(
    attempt: Attempt, request: CompletionRequest
) -> AsyncGenerator[StreamPart, None]:
    """One non-streamed call: the Completion alone."""
    parts = attempt.parts
    raw = await attempt.timed(parts.adapter.complete(parts.model_id, request))
    yield attempt.succeed(raw)


async def stream_body(
    attempt: Attempt, request: CompletionRequest
) -> AsyncGenerator[StreamPart, None]:
    """One streamed call: its deltas as they come (each within the timeout), then the
    Completion. The adapter's stream is closed before the Completion goes out, so nothing
    can fail after the answer was delivered."""
    parts = attempt.parts
    source = parts.adapter.stream(parts.model_id, request)
    try:
        while True:
            try:
                part = await attempt.timed(anext(source))
            except StopAsyncIteration:
                raise MalformedResponseError(
                    f"{parts.provider} model {parts.key!r}: stream ended without a result",
                    provider=parts.provider,
                    model=parts.key,
                ) from None
            if isinstance(part, RawCompletion):
                final = part
                break
            yield part
    except BaseException:
        await _close(source, parts.key)
        raise
    await _close(source, parts.key)
    yield attempt.succeed(final)


async def _close(source: AsyncIterator[object], model: str) -> None:
    """Close an adapter stream (async generators can be); a failure to close is logged."""
    close = getattr(source, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except Exception as err:  # the call's outcome is already decided
        log.warning("closing the stream of %s failed: %s", model, type(err).__name__)
