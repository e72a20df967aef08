"""Migrations build the schema from nothing, and running them again changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.store.db import create_engine, init_db
from orchestratex.store.tables import Base

TABLES = {
    "users",
    "threads",
    "prompts",
    "responses",
    "evaluations",
    "criticisms",
    "model_performance",
    "judge_reliability",
    "usage_records",
    "selection_decisions",
    "events",
    "learned_models",
}


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        names = await conn.run_sync(_table_names)
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert names == TABLES | {"alembic_version"}
    assert set(Base.metadata.tables) == TABLES
    assert version == "0005"
    await init_db(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_table_names) == TABLES | {"alembic_version"}


async def test_sqlite_data_directory_is_created(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "orx.db"
    engine = create_engine(f"sqlite+aiosqlite:///{target}")
    try:
        await init_db(engine)
    finally:
        await engine.dispose()
    assert target.is_file()
