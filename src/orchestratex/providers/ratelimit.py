"""Per-provider request and token limits over a sliding window; waiters are served in order.

`ProviderLimiter` is what the gateway needs of a limiter; `RateLimiter` is the in-process one.
Another implementation (runtime/provider_limits.py shares the counts through Redis) comes in
through the gateway's `limiter_factory`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import RateLimitedError
from orchestratex.core.types import CompletionRequest


class Slot(Protocol):
    """A granted call; `settle` replaces the token estimate by the real count."""

    def settle(self, tokens: int) -> None: ...


class ProviderLimiter(Protocol):
    """Requests and tokens per window of one provider."""

    @property
    def limited(self) -> bool: ...

    async def acquire(self, tokens: int = 0, *, timeout_s: float | None = None) -> Slot:
        """Wait until a call of about `tokens` tokens fits, then count it. Raises
        RateLimitedError when it cannot fit within `timeout_s` (None: wait as long as needed)."""
        ...

    async def aclose(self) -> None:
        """Finish pending bookkeeping (the gateway closes its limiters at shutdown)."""
        ...


LimiterFactory = Callable[[ProviderSpec], ProviderLimiter]
"""Builds the limiter of one provider; the gateway calls it once per provider."""


def limit_wait_error(provider: str, wait_s: float, timeout_s: float) -> RateLimitedError:
    """The error of a call that would wait `wait_s` for its provider's limit, past its timeout."""
    return RateLimitedError(
        f"{provider}: the requests/tokens-per-minute limit leaves no room for {wait_s:.1f}s, "
        f"longer than the call's {timeout_s:g}s timeout",
        provider=provider,
        status=None,
        retry_after_s=wait_s,
    )


def estimate_tokens(request: CompletionRequest) -> int:
    """A call's token cost before it is made: about 4 characters a token, plus max_tokens."""
    return sum(len(m.content) for m in request.messages) // 4 + 1 + request.max_tokens


@dataclass
class _Entry:
    at: float
    tokens: int


class Reservation:
    """A granted slot; `settle` replaces the token estimate by the real count."""

    def __init__(self, entry: _Entry | None) -> None:
        self._entry = entry

    def settle(self, tokens: int) -> None:
        if self._entry is not None:
            self._entry.tokens = max(0, tokens)


class RateLimiter:
    """At most `requests` calls and `tokens` tokens in any `window_s` seconds (None: no limit).

    A waiter holds a FIFO lock while it sleeps, so callers are served first come, first served.
    """

    def __init__(
        self,
        *,
        requests: int | None = None,
        tokens: int | None = None,
        window_s: float = 60.0,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        name: str = "provider",
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        self._name = name
        self._requests = requests
        self._tokens = tokens
        self._window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._entries: deque[_Entry] = deque()
        self._lock = asyncio.Lock()

    @property
    def limited(self) -> bool:
        return self._requests is not None or self._tokens is not None

    def _prune(self, now: float) -> None:
        while self._entries and self._entries[0].at <= now - self._window_s:
            self._entries.popleft()

    def _wait_s(self, now: float, tokens: int) -> float:
        wait = 0.0
        if self._requests is not None and len(self._entries) >= self._requests:
            oldest_blocking = self._entries[len(self._entries) - self._requests]
            wait = max(wait, oldest_blocking.at + self._window_s - now)
        if self._tokens is not None:
            excess = sum(e.tokens for e in self._entries) + tokens - self._tokens
            for entry in self._entries:
                if excess <= 0:
                    break
                excess -= entry.tokens
                wait = max(wait, entry.at + self._window_s - now)
        return wait

    async def acquire(self, tokens: int = 0, *, timeout_s: float | None = None) -> Reservation:
        """Wait until one more call of about `tokens` tokens fits, then record it.

        With `timeout_s`, raise RateLimitedError instead of waiting past that many seconds.
        """
        if not self.limited:
            return Reservation(None)
        if self._tokens is not None:
            tokens = min(tokens, self._tokens)
        deadline = None if timeout_s is None else self._clock() + timeout_s
        async with self._lock:
            while True:
                now = self._clock()
                self._prune(now)
                wait = self._wait_s(now, tokens)
                if wait <= 0:
                    entry = _Entry(now, tokens)
                    self._entries.append(entry)
                    return Reservation(entry)
                if deadline is not None and timeout_s is not None and now + wait > deadline:
                    raise limit_wait_error(self._name, wait, timeout_s)
                await self._sleep(max(wait, 0.001))

    async def aclose(self) -> None:
        """Nothing to finish: the counts live in this object."""
