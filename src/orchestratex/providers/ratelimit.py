"""Per-provider request and token limits over a sliding window; waiters are served in order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from orchestratex.core.types import CompletionRequest


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
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
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

    async def acquire(self, tokens: int = 0) -> Reservation:
        """Wait until one more call of about `tokens` tokens fits, then record it."""
        if not self.limited:
            return Reservation(None)
        if self._tokens is not None:
            tokens = min(tokens, self._tokens)
        async with self._lock:
            while True:
                now = self._clock()
                self._prune(now)
                wait = self._wait_s(now, tokens)
                if wait <= 0:
                    entry = _Entry(now, tokens)
                    self._entries.append(entry)
                    return Reservation(entry)
                await self._sleep(max(wait, 0.001))
