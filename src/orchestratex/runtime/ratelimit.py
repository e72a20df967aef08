"""The per-user request limit of one process (with Redis, runtime/scaleout.py shares it)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from orchestratex.core.errors import OrchestrateXError


class RequestRateLimitedError(OrchestrateXError):
    """A user sent more orchestration requests than the window allows."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def rate_limited(limit: int, window_s: float, wait_s: float) -> RequestRateLimitedError:
    """The refusal of a request over `limit` per `window_s`, retryable after `wait_s`."""
    return RequestRateLimitedError(
        f"rate limit: at most {limit} requests per {window_s:g} s; retry in {wait_s:.0f} s",
        retry_after_s=wait_s,
    )


class RateLimiter:
    """At most `limit` requests per key in any sliding `window_s` seconds (in memory)."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one request, or raise RequestRateLimitedError when the window is full."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            raise rate_limited(self.limit, self.window_s, hits[0] + self.window_s - now)
        hits.append(now)
