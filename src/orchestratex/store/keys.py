"""API keys in the database: lookup by hash, whether any usable key exists, listing, revoking.

Only the SHA-256 of a key and a display prefix are stored; a revoked key's hash is replaced by
an unusable marker, so it never matches again while the user and their threads remain.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from orchestratex.store.tables import User

REVOKED_MARK = "revoked:"


def _active() -> ColumnElement[bool]:
    return ~User.api_key_hash.startswith(REVOKED_MARK)


async def any_active_key(session: AsyncSession) -> bool:
    """True once any usable key exists."""
    stmt = select(func.count()).select_from(User).where(_active())
    return bool((await session.execute(stmt)).scalar_one())


_ANY_ACTIVE = select(User.id).where(_active()).limit(1)


async def any_active_key_on(engine: AsyncEngine) -> bool:
    """`any_active_key` on a pooled connection, without an ORM session: the check open mode
    makes on every request, so it is kept to one cached statement."""
    async with engine.connect() as connection:
        return (await connection.execute(_ANY_ACTIVE)).first() is not None


async def user_by_key_hash(session: AsyncSession, digest: str) -> User | None:
    return (
        await session.execute(select(User).where(User.api_key_hash == digest))
    ).scalar_one_or_none()


async def all_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.created_at))).scalars().all())


def is_revoked(user: User) -> bool:
    return user.api_key_hash.startswith(REVOKED_MARK)


async def revoke_by_prefix(session: AsyncSession, prefix: str) -> int:
    """Revoke the active keys shown as `prefix` (committed); returns how many."""
    stmt = select(User).where(User.api_key_prefix == prefix, _active())
    users = (await session.execute(stmt)).scalars().all()
    for user in users:
        user.api_key_hash = REVOKED_MARK + secrets.token_hex(16)
    await session.commit()
    return len(users)
