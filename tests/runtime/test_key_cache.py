"""The key cache on a real SQLite store: its positive answers are kept for their time to live,
a key made or revoked in this process (through any session) counts at once, and open mode is
never kept. A write that bypasses the
ORM on a connection of its own stands for another process (the CLI's `orchestratex keys`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestratex.runtime.auth import NewKey, create_key, hash_key, revoke_key
from orchestratex.runtime.key_cache import DEFAULT_TTL_S, KeyCache
from orchestratex.store import key_changes
from orchestratex.store.db import create_engine
from orchestratex.store.facade import Store
from orchestratex.store.tables import User


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'orx.db'}"


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    store = Store(url)
    await store.start()
    try:
        yield store
    finally:
        await store.aclose()


async def _made_here(store: Store, name: str) -> NewKey:
    return await store.write(lambda session: create_key(session, name=name))


async def _elsewhere(url: str, sql: str, **params: object) -> None:
    """One statement on a connection of its own, no ORM session: as another process writes."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), params)
    finally:
        await engine.dispose()


async def _insert_elsewhere(url: str, key: str) -> None:
    await _elsewhere(
        url,
        "INSERT INTO users (id, name, api_key_hash, api_key_prefix, is_admin, created_at) "
        "VALUES ('u-elsewhere', 'elsewhere', :digest, :prefix, 0, '2026-12-07 00:00:00')",
        digest=hash_key(key),
        prefix=key[:12],
    )


async def test_a_first_key_made_here_ends_open_mode_at_once(store: Store) -> None:
    clock = Clock()
    cache = KeyCache(store, clock=clock)
    assert await cache.enabled() is False
    before = key_changes.generation()
    made = await _made_here(store, "first")
    assert key_changes.generation() == before + 1
    assert await cache.enabled() is True, "a key made in this process ends open mode at once"
    found = await cache.principal(made.key)
    assert found is not None and found.user_id == made.user_id


async def test_a_first_key_made_by_another_process_ends_open_mode_at_once(
    store: Store, url: str
) -> None:
    """`orchestratex keys create` beside a running service: no request after it is open."""
    clock = Clock()
    cache = KeyCache(store, clock=clock)
    assert await cache.enabled() is False
    outside = "orx_" + "x" * 43
    await _insert_elsewhere(url, outside)
    assert await cache.enabled() is True, "open mode's answer is never kept"
    found = await cache.principal(outside)
    assert found is not None and found.name == "elsewhere", "an unknown key is never cached"


async def test_a_key_revoked_here_stops_at_once_and_elsewhere_within_the_time_to_live(
    store: Store, url: str
) -> None:
    clock = Clock()
    cache = KeyCache(store, clock=clock)
    here, there = await _made_here(store, "here"), await _made_here(store, "there")
    assert await cache.principal(here.key) is not None
    assert await cache.principal(there.key) is not None
    assert await store.write(lambda session: revoke_key(session, here.prefix)) == 1
    assert await cache.principal(here.key) is None, "revoked in this process: at once"
    assert await cache.principal(there.key) is not None

    await _elsewhere(
        url, "UPDATE users SET api_key_hash = 'revoked:x' WHERE id = :id", id=there.user_id
    )
    assert await cache.principal(there.key) is not None, "kept for its time to live"
    clock.now += DEFAULT_TTL_S + 0.01
    assert await cache.principal(there.key) is None


async def test_a_change_rolled_back_or_only_read_moves_nothing(store: Store) -> None:
    before = key_changes.generation()
    async with store.sessions() as session:
        session.add(User(id="u-gone", name="gone", api_key_hash="h", api_key_prefix="p"))
        await session.flush()
        await session.rollback()
    async with store.sessions() as session:
        assert (await session.get(User, "u-gone")) is None
        await session.commit()
    assert key_changes.generation() == before
