"""API-key checks without a database round trip per request.

Positive answers are kept for `ttl_s` (2 s by default): that a usable key exists, and the
holder of a key without a budget, keyed by the key's SHA-256 (the raw key is never kept). Both
are dropped at once when this process commits a change to the users table
(store/key_changes.py: a key made or revoked through any session), so a key revoked here stops
working from the next request; one revoked by another process (`orchestratex keys` from the
CLI, another API instance) within `ttl_s`. Negative answers are never cached: an unknown key is
asked again (a new key works at once), and so is open mode, so that a first key ends it at once
whichever process made it (open mode is a loopback-only start-up state; this costs it one query
per request). Nor is a key with a budget cached: a changed budget holds from the next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from orchestratex.runtime.auth import Principal, authenticate, hash_key
from orchestratex.store import key_changes
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
        self._generation = key_changes.generation()

    def _current(self) -> int:
        """The users table's change counter; every cached answer is dropped when it moved."""
        generation = key_changes.generation()
        if generation != self._generation:
            self._generation = generation
            self._principals.clear()
            self._enabled = None
        return generation

    async def enabled(self) -> bool:
        """Whether any usable key exists (else the service is in open mode)."""
        generation = self._current()
        now = self._clock()
        if self._enabled is not None and self._enabled[0] > now:
            return self._enabled[1]
        value = await self._store.any_active_key()
        if value and key_changes.generation() == generation:  # no change committed meanwhile
            self._enabled = (now + self._ttl, value)
        return value

    async def principal(self, key: str) -> Principal | None:
        """The holder of `key`, or None for an unknown or revoked key."""
        generation = self._current()
        digest = hash_key(key)
        now = self._clock()
        cached = self._principals.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._store.sessions() as session:
            found = await authenticate(session, key)
        unchanged = key_changes.generation() == generation  # no change committed meanwhile
        if found is not None and found.budget_usd is None and unchanged:
            if len(self._principals) >= MAX_ENTRIES:
                self._principals.clear()
            self._principals[digest] = (now + self._ttl, found)
        return found
