"""Store fixtures: every test runs on SQLite and, when available, on a real PostgreSQL.

PostgreSQL comes from ORX_TEST_POSTGRES_URL (its role needs CREATEDB), else from a throwaway
cluster started here when the server binaries are installed, else those cases are skipped.
The migrations run once from nothing into a template database; each test gets a fresh copy.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, init_db
from tests.servers import postgres_cluster


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A server URL (its database part is replaced per test), or None when there is none."""
    with postgres_cluster() as url:
        yield url


async def _admin(url: str, sql: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await admin.dispose()


async def _make_template(url: str, name: str) -> None:
    await _admin(url, f'CREATE DATABASE "{name}"')
    engine = create_engine(_with_database(url, name))
    try:
        await init_db(engine)
    finally:
        await engine.dispose()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _in_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to the end on its own loop (fixtures may be set up inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str | None) -> Iterator[str | None]:
    """A database migrated once from nothing; each test gets a copy of it."""
    if postgres_url is None:
        yield None
        return
    name = f"orx_template_{uuid.uuid4().hex[:12]}"
    _in_thread(_make_template(postgres_url, name))
    try:
        yield name
    finally:
        _in_thread(_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'orx.db'}"
        return
    template: str | None = request.getfixturevalue("postgres_template")
    url: str | None = request.getfixturevalue("postgres_url")
    if template is None or url is None:
        pytest.skip("no PostgreSQL: set ORX_TEST_POSTGRES_URL or install the server")
    name = f"orx_test_{uuid.uuid4().hex[:12]}"
    await _admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _with_database(url, name)
    finally:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    await init_db(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)
