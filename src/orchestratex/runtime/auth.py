"""API keys: generation, hashing, lookup and revocation.

A key is `orx_` plus 32 random bytes from `secrets` (URL-safe base64), so a plain SHA-256 of it
is a safe stored form: only the hash and a 12-character display prefix reach the database.
Keys are looked up by hash and confirmed with `hmac.compare_digest`. One user holds one key.
A revoked key keeps its user (and the user's threads) but its hash is replaced by an unusable
marker, so it can never match again.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestratex.store import keys as stored_keys
from orchestratex.store import repository

if TYPE_CHECKING:
    from orchestratex.store.db import Session as AsyncSession

KEY_PREFIX = repository.API_KEY_PREFIX
REVOKED_MARK = stored_keys.REVOKED_MARK
MAX_KEY_CHARS = 200


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. `user_id` None means anonymous (auth disabled, loopback only)."""

    user_id: str | None
    name: str
    is_admin: bool
    budget_usd: float | None = None

    @property
    def rate_key(self) -> str:
        return self.user_id or "anonymous"


ANONYMOUS = Principal(user_id=None, name="anonymous", is_admin=True)


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: `key` is shown once and never stored."""

    user_id: str
    name: str
    key: str
    prefix: str
    is_admin: bool
    budget_usd: float | None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    user_id: str
    name: str
    prefix: str
    is_admin: bool
    budget_usd: float | None
    revoked: bool


def hash_key(key: str) -> str:
    """SHA-256 hex, the stored form (the store's own definition, so both always agree)."""
    return repository.hash_api_key(key)


async def create_key(
    session: AsyncSession, *, name: str, is_admin: bool = False, budget_usd: float | None = None
) -> NewKey:
    """Create a user holding a new key (committed). The key is generated with `secrets`."""
    user, key = await repository.create_user(
        session=session, name=name, is_admin=is_admin, budget_usd=budget_usd
    )
    return NewKey(user.id, name, key, user.api_key_prefix, is_admin, budget_usd)


async def auth_enabled(session: AsyncSession) -> bool:
    """True once any usable key exists."""
    return await stored_keys.any_active_key(session)


async def authenticate(session: AsyncSession, key: str) -> Principal | None:
    """The principal holding `key`, or None. Looked up by hash, confirmed in constant time."""
    if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_CHARS:
        return None
    digest = hash_key(key)
    user = await stored_keys.user_by_key_hash(session, digest)
    if user is None or not hmac.compare_digest(user.api_key_hash, digest):
        return None
    return Principal(
        user_id=user.id, name=user.name, is_admin=user.is_admin, budget_usd=user.budget_usd
    )


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    users = await stored_keys.all_users(session)
    return [
        KeyInfo(
            user_id=u.id,
            name=u.name,
            prefix=u.api_key_prefix,
            is_admin=u.is_admin,
            budget_usd=u.budget_usd,
            revoked=stored_keys.is_revoked(u),
        )
        for u in users
    ]


async def revoke_key(session: AsyncSession, prefix: str) -> int:
    """Revoke the active keys shown as `prefix` (committed); returns how many."""
    if len(prefix) < len(KEY_PREFIX) + 4:
        return 0
    return await stored_keys.revoke_by_prefix(session, prefix)
