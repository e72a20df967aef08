"""Fixtures shared by all test areas.

Databases: a service fixture passes `database_url` to Settings. Unparametrized it is None (the
SQLite file in data_dir); a suite whose conftest calls `tests.databases.on_both_backends` in
`pytest_generate_tests` runs each such test on SQLite and on PostgreSQL. PostgreSQL is
ORX_TEST_POSTGRES_URL (its role needs CREATEDB), else one throwaway cluster per session when the
server binaries are installed, else those cases are skipped.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from orchestratex.engine.embeddings import OFF_ENV
from orchestratex.testing.fake_provider import FakeProviderServer, run_fake_provider
from tests.databases import copy_template, drop_database, make_template, run_sync, with_database
from tests.servers import postgres_cluster

# `make test` installs the embedding weights so that the embeddings' own tests run; every other
# test (replay services that train their router, CLI subprocesses) keeps the routers on the
# analysis features, as without the extra. Tests of the embeddings opt in (monkeypatch.delenv).
os.environ.setdefault(OFF_ENV, "off")


@pytest.fixture
async def fake_provider() -> AsyncIterator[FakeProviderServer]:
    """A fake provider server on a free loopback port, with default options."""
    async with run_fake_provider() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A PostgreSQL server URL (database `postgres`), or None when there is none."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str | None) -> Iterator[str | None]:
    """A database migrated once from nothing; each test gets a copy of it."""
    if postgres_url is None:
        yield None
        return
    name = run_sync(make_template(postgres_url))
    try:
        yield name
    finally:
        run_sync(drop_database(postgres_url, name))


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite (Settings' default file), or the URL of a fresh, migrated PostgreSQL
    database, dropped after the test. Parametrized indirectly with "sqlite" / "postgresql"."""
    backend: str = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield None
        return
    assert backend == "postgresql", backend
    template: str | None = request.getfixturevalue("postgres_template")
    server: str | None = request.getfixturevalue("postgres_url")
    if template is None or server is None:
        pytest.skip("no PostgreSQL: set ORX_TEST_POSTGRES_URL or install Debian package postgresql")
    name = run_sync(copy_template(server, template))
    try:
        yield with_database(server, name)
    finally:
        run_sync(drop_database(server, name))
