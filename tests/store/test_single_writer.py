"""On SQLite one task performs every write (store/writes.py): a burst of submissions, their
runs' events and other writes all go through it, none fails, and the read connections write
nothing; a write's error still reaches its caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from orchestratex.api.app import create_app
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.auth import create_key
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.store.db import Session
from orchestratex.store.facade import Store
from orchestratex.store.tables import EventRecord, Thread, User
from orchestratex.store.writes import PooledWrites, SerialWrites
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider
from tests.waiting import until

SUBMISSIONS = 200
KEYS = 20
READ_ONLY_VERBS = {"SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK"}


def _watch_writes(service: Service) -> list[str]:
    """Statements other than reads that the read engine executes, from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb not in READ_ONLY_VERBS:
            seen.append(statement[:80])

    event.listen(service.store.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def _ended(service: Service, thread_ids: list[str]) -> dict[str, str]:
    async with service.sessions() as session:
        rows = await session.execute(
            select(Thread.id, Thread.status).where(Thread.id.in_(thread_ids))
        )
        return {thread_id: status for thread_id, status in rows.all()}


async def test_a_burst_of_submissions_with_event_and_key_writes_has_no_error(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, requests_per_minute=100_000)
    async with run_fake_provider(FakeProviderOptions(seed=1, latency_ms=20.0)) as fake:
        app = create_app(settings, catalog=fake_catalog(fake.openai_base_url))
        async with app.router.lifespan_context(app):
            service: Service = app.state.service
            writes = service.store.writes
            assert isinstance(writes, SerialWrites)
            owner = await service.store.write(lambda s: create_key(s, name="owner"))
            read_writes = _watch_writes(service)
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {owner.key}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost", headers=headers
            ) as client:

                async def submit(i: int) -> httpx.Response:
                    body = {"prompt": f"Explain item {i} briefly.", "max_rounds": 1}
                    return await client.post(
                        "/api/orchestrate/prompt", json={**body, "judge_count": 1}
                    )

                async def add_key(i: int) -> None:
                    await service.store.write(lambda s: create_key(s, name=f"user-{i}"))

                replies, _ = await asyncio.gather(
                    asyncio.gather(*(submit(i) for i in range(SUBMISSIONS))),
                    asyncio.gather(*(add_key(i) for i in range(KEYS))),
                )
            assert [r.status_code for r in replies] == [202] * SUBMISSIONS
            thread_ids = [r.json()["thread_id"] for r in replies]

            async def all_ended() -> dict[str, str] | None:
                statuses = await _ended(service, thread_ids)
                done = [s for s in statuses.values() if s in ("completed", "failed", "cancelled")]
                return statuses if len(done) == SUBMISSIONS else None

            statuses = await until(all_ended, timeout_s=180.0, what="every run stored ended")
            for thread_id in thread_ids:
                await service.flush(thread_id)
            async with service.sessions() as session:
                logged = dict(
                    (
                        await session.execute(
                            select(EventRecord.thread_id, func.count())
                            .where(EventRecord.thread_id.in_(thread_ids))
                            .group_by(EventRecord.thread_id)
                        )
                    ).all()
                )
                last_seq = dict(
                    (
                        await session.execute(
                            select(Thread.id, Thread.last_seq).where(Thread.id.in_(thread_ids))
                        )
                    ).all()
                )
                users = await session.scalar(select(func.count()).select_from(User))
            assert set(statuses.values()) == {"completed"}
            assert logged == last_seq and min(last_seq.values()) > 1
            assert users == KEYS + 1
            assert service.writer.dropped == 0
            assert read_writes == []
            assert writes.most_waiting > 1  # the writes did queue behind one another


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(f"sqlite+aiosqlite:///{tmp_path / 'orx.db'}")
    await opened.start()
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_a_write_error_reaches_its_caller_and_the_writer_goes_on(store: Store) -> None:
    request = OrchestrationRequest(prompt="hello")
    await store.create_thread("t1", request, None, runner_id=None)
    with pytest.raises(IntegrityError):
        await store.create_thread("t1", request, None, runner_id=None)
    with pytest.raises(ValueError, match="at most"):
        await store.write(lambda s: create_key(s, name="x" * 500))
    await store.create_thread("t2", request, None, runner_id=None)
    states = [await store.thread_state(t) for t in ("t1", "t2")]
    assert [s.status if s else None for s in states] == ["queued", "queued"]


async def test_a_failed_write_commits_none_of_its_statements(store: Store) -> None:
    async def half(session: Session) -> None:
        await session.execute(text("UPDATE threads SET status = 'failed'"))
        raise RuntimeError("stop here")

    await store.create_thread("t1", OrchestrationRequest(prompt="hello"), None, runner_id=None)
    with pytest.raises(RuntimeError, match="stop here"):
        await store.write(half)
    state = await store.thread_state("t1")
    assert state is not None and state.status == "queued"


async def test_writes_run_one_at_a_time_in_order_and_a_cancelled_one_is_skipped(
    store: Store,
) -> None:
    order: list[str] = []
    release = asyncio.Event()

    async def first(session: Session) -> None:
        order.append("first")
        await release.wait()  # holds the writer until the test lets it go

    def named(name: str) -> Callable[[Session], Awaitable[str]]:
        async def work(session: Session) -> str:
            order.append(name)
            return name

        return work

    writes = store.writes
    assert isinstance(writes, SerialWrites)

    holding = asyncio.create_task(store.write(first))
    await until(lambda: order == ["first"], what="the first write running")
    skipped = asyncio.create_task(store.write(named("skipped")))
    after = asyncio.create_task(store.write(named("after")))
    await until(lambda: writes.most_waiting >= 2, what="two writes waiting")
    skipped.cancel()
    release.set()
    assert await after == "after"
    await holding
    assert skipped.cancelled()
    assert order == ["first", "after"]


async def test_a_write_cannot_wait_for_another_write(store: Store) -> None:
    async def nested(session: Session) -> None:
        await store.write(lambda s: s.execute(text("SELECT 1")))

    with pytest.raises(RuntimeError, match="cannot wait for another write"):
        await store.write(nested)


def test_postgresql_keeps_its_pool() -> None:
    store = Store("postgresql+asyncpg://orx:orx@127.0.0.1:1/orx")
    assert isinstance(store.writes, PooledWrites)
