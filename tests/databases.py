"""Fresh PostgreSQL databases for tests, copied from a template migrated once per session.

`tests/conftest.py` holds the fixtures; a suite runs each of its tests on both backends by
calling `on_both_backends(metafunc)` from its conftest's `pytest_generate_tests`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from orchestratex.runtime.service import Service
from orchestratex.store.db import create_engine, init_db

T = TypeVar("T")
BACKENDS = ("sqlite", "postgresql")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on its own loop (fixtures may be set up inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def admin(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def make_template(server_url: str) -> str:
    """Create a database, run every migration on it from nothing; returns its name."""
    name = f"orx_template_{uuid.uuid4().hex[:12]}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    engine = create_engine(with_database(server_url, name))
    try:
        await init_db(engine)
    finally:
        await engine.dispose()
    return name


async def copy_template(server_url: str, template: str) -> str:
    """A new database copied from `template`; returns its name.

    From PostgreSQL 15 on, the file copy strategy is used: with fsync off its checkpoint is
    cheap, and it is several times faster than the default (writing the copy to the WAL).
    """
    name = f"orx_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            version = int((await conn.execute(text("SHOW server_version_num"))).scalar_one())
            strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
            await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}'))
    finally:
        await engine.dispose()
    return name


async def drop_database(server_url: str, name: str) -> None:
    await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def on_both_backends(metafunc: pytest.Metafunc) -> None:
    """Parametrize a test over BACKENDS when it uses `database_url`, directly or not."""
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", BACKENDS, indirect=True)


def assert_backend(service: Service, database_url: str | None) -> None:
    """The service runs on the backend the test was parametrized with."""
    expected = "sqlite" if database_url is None else "postgresql"
    assert service.store.engine.dialect.name == expected, (
        service.store.engine.dialect.name,
        expected,
    )
