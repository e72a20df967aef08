"""When to try a failed call again, and how long to wait first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestratex.core.errors import CircuitOpenError, ProviderError, RateLimitedError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a provider's Retry-After wins, up to a cap."""

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_retry_after_s: float = 30.0

    def should_retry(self, error: ProviderError, retries_done: int) -> bool:
        """Retry retryable errors while retries remain; an open circuit is not worth retrying."""
        if retries_done >= self.max_retries:
            return False
        return error.retryable and not isinstance(error, CircuitOpenError)

    def delay_s(
        self, error: ProviderError, retries_done: int, random: Callable[[], float]
    ) -> float:
        """Seconds to sleep before retry number `retries_done + 1`."""
        if isinstance(error, RateLimitedError) and error.retry_after_s is not None:
            return min(max(error.retry_after_s, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * (2.0**retries_done))
        return ceiling * random()
