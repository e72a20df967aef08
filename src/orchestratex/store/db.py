"""Engine, sessions and schema migrations (Alembic, run programmatically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

SessionFactory = async_sessionmaker[AsyncSession]
Session = AsyncSession
"""A database session (for callers above the store, which never import SQLAlchemy)."""


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Concurrent runs queue on the write lock; wait rather than fail under bursts.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


NUL_REPLACEMENT = "\ufffd"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", NUL_REPLACEMENT)
    return value


def _params_without_nul(params: Any) -> Any:
    if isinstance(params, dict):
        return {key: _without_nul(value) for key, value in params.items()}
    if isinstance(params, list | tuple):
        return type(params)(_without_nul(value) for value in params)
    return params


def _postgres_nul_free(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """PostgreSQL text cannot hold NUL: it becomes U+FFFD in every bound string, so text
    holding one is stored rather than refused, and a lookup or search by one does not fail.
    (JSON columns keep NUL exactly: it is serialised as the escape \\u0000.)"""
    if executemany and isinstance(parameters, list):
        return statement, [_params_without_nul(row) for row in parameters]
    return statement, _params_without_nul(parameters)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; for a SQLite file, its directory is created if missing."""
    sqlite_file_path = sqlite_file(url)
    if sqlite_file_path is not None:
        sqlite_file_path.parent.mkdir(parents=True, exist_ok=True)
    engine = _create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if engine.dialect.name == "postgresql":
        event.listen(engine.sync_engine, "before_cursor_execute", _postgres_nul_free, retval=True)
    return engine


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config built in code, pointing at the package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


MIGRATION_LOCK = 7_406_512_001


async def init_db(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (all migrations by default).

    On PostgreSQL an advisory lock makes instances that start together migrate one at a time.
    """
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_upgrade, revision)
