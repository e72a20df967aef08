"""API-key checks without a database round trip per request.

Positive answers are kept for `ttl_s` (2 s by default), keyed by the key's SHA-256 (the raw key
is never kept), so a revoked key stops working within that time. Negative answers (an unknown
key; no key at all, i.e. open mode) are never cached: a new key works, and a first key ends open
mode, at once. Nor is a key with a budget: a changed budget holds from the next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from orchestratex.runtime.auth import Principal, authenticate, hash_key
from orchestratex.store.facade import Store

DEFAULT_TTL_S = 2.0
MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(
        self,
        store: Store,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl_s
        self._clock = clock
        self._principals: dict[str, tuple[float, Principal]] = {}
        self._enabled: tuple[float, bool] | None = None

    async def enabled(self) -> bool:
        """Whether any usable key exists (else the service is in open mode)."""
        now = self._clock()
        if self._enabled is not None and self._enabled[0] > now:
            return self._enabled[1]
        value = await self._store.any_active_key()
        self._enabled = (now + self._ttl, value) if value else None
        return value

    async def principal(self, key: str) -> Principal | None:
        """The holder of `key`, or None for an unknown or revoked key."""
        digest = hash_key(key)
        now = self._clock()
        cached = self._principals.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._store.sessions() as session:
            found = await authenticate(session, key)
        if found is not None and found.budget_usd is None:
            if len(self._principals) >= MAX_ENTRIES:
                self._principals.clear()
            self._principals[digest] = (now + self._ttl, found)
        return found
