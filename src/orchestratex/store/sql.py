"""Core handles on the tables and an INSERT that knows `ON CONFLICT` on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Table, TypeDecorator, bindparam
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
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
LEARNED: Table = _TABLES["learned_models"]


def upsert(session: AsyncSession, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT for the session's backend that accepts `on_conflict_do_*`."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


class JsonText(TypeDecorator[Any]):
    """A JSON column bound from text already serialised (by pydantic's `model_dump_json`):
    sent as it is, not encoded a second time. None is SQL NULL."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def json_text(name: str) -> Any:
    """A bind parameter `name` for serialised JSON (see JsonText)."""
    return bindparam(name, type_=JsonText())
