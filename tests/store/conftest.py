"""Store fixtures: every test runs on SQLite and, when available, on a real PostgreSQL.

The PostgreSQL side comes from the shared fixtures in tests/conftest.py: a fresh copy of a
database migrated once per session, or a skip when there is no server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, init_db
from tests.databases import on_both_backends


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_both_backends(metafunc)


@pytest.fixture
def db_url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite+aiosqlite:///{tmp_path / 'data' / 'orx.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    await init_db(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)
