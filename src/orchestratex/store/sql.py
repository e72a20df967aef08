"""Core handles on the tables and an INSERT that knows `ON CONFLICT` on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.store.tables import Base

_TABLES = Base.metadata.tables
THREADS: Table = _TABLES["threads"]
PROMPTS: Table = _TABLES["prompts"]
RESPONSES: Table = _TABLES["responses"]
EVALUATIONS: Table = _TABLES["evaluations"]
CRITICISMS: Table = _TABLES["criticisms"]
PERFORMANCE: Table = _TABLES["model_performance"]
JUDGES: Table = _TABLES["judge_reliability"]
USAGE: Table = _TABLES["usage_records"]
SELECTIONS: Table = _TABLES["selection_decisions"]
EVENTS: Table = _TABLES["events"]


def upsert(session: AsyncSession, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT for the session's backend that accepts `on_conflict_do_*`."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)
