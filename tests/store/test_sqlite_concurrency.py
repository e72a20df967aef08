"""SQLite under concurrent writers: transactions that read then write must queue, not fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.store import repository
from orchestratex.store.db import create_engine, create_session_factory, init_db
from orchestratex.store.tables import Thread


async def test_concurrent_read_then_write_transactions_do_not_fail(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}")
    await init_db(engine)
    sessions = create_session_factory(engine)

    async def submit(i: int) -> None:
        async with sessions() as session:
            # a read first, then writes in the same transaction: the pattern that fails with
            # "database is locked" when SQLite transactions begin deferred
            await session.scalar(select(func.count()).select_from(Thread))
            await repository.create_thread(
                session=session,
                thread_id=f"t{i:03d}",
                request=OrchestrationRequest(prompt=f"prompt {i}"),
            )

    try:
        await asyncio.gather(*(submit(i) for i in range(60)))
        async with sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Thread))
        assert count == 60
    finally:
        await engine.dispose()
