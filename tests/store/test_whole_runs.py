"""A passthrough run held whole by one batch is written directly (store/whole_runs.py): its rows
are those the general path writes for the same events, one event at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.core.events import Event
from orchestratex.store import whole_runs
from orchestratex.store.db import SessionFactory
from orchestratex.store.tables import (
    EventRecord,
    ModelPerformance,
    Prompt,
    Response,
    SelectionRecord,
    Thread,
    UsageRecord,
)
from orchestratex.store.writer import EventWriter, StoreWriter
from tests.store.factories import fallback_events, passthrough_events, run_events

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
IGNORED = {"id", "thread_id", "runner_id", "heartbeat_at"}


def _renamed(events: list[Event], thread_id: str) -> list[Event]:
    renamed = []
    for e in events:
        result = getattr(e, "result", None)
        update: dict[str, Any] = {"thread_id": thread_id}
        if result is not None:
            update["result"] = result.model_copy(update={"thread_id": thread_id})
        renamed.append(e.model_copy(update=update))
    return renamed


async def _rows(sessions: SessionFactory, thread_id: str) -> dict[str, list[tuple[Any, ...]]]:
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for table in (Thread, Prompt, Response, UsageRecord, SelectionRecord, EventRecord):
            column = getattr(table, "id" if table is Thread else "thread_id")
            rows = (await session.execute(select(table).where(column == thread_id))).scalars()
            snapshot[table.__tablename__] = sorted(
                tuple(
                    repr(_same_ids(getattr(row, c.key), thread_id))
                    for c in table.__table__.columns
                    if c.key not in IGNORED
                )
                for row in rows
            )
    return snapshot


def _same_ids(value: Any, thread_id: str) -> Any:
    """Payloads name their thread: compare them as if both runs had the same id."""
    if isinstance(value, dict):
        return {k: _same_ids(v, thread_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_ids(v, thread_id) for v in value]
    return "<thread>" if value == thread_id else value


async def _performance(sessions: SessionFactory) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = (await session.execute(select(ModelPerformance))).scalars()
        return sorted((r.model, r.domain, r.samples, r.successes, r.failures) for r in rows)


async def test_whole_passthrough_rows_equal_the_general_paths(sessions: SessionFactory) -> None:
    one_by_one = StoreWriter(sessions)
    runs = {
        "ok": passthrough_events("p-ok", start=START, user_id=None),
        "failed": passthrough_events("p-failed", start=START, failed=True),
        "unstreamed": passthrough_events("p-unstreamed", start=START, chunks=0),
        "fallback": fallback_events("p-fallback", start=START),
        "fallback-failed": fallback_events("p-fallback-failed", start=START, failed=True),
    }
    for events in runs.values():
        for e in events:
            await one_by_one.handle(e)
    general = await _performance(sessions)
    assert general == [("bad-m", "general", 0, 0, 2), ("gpt-x", "general", 0, 3, 2)]
    writer = EventWriter(sessions, flush_interval_s=60.0)
    await writer.start()
    for name, events in runs.items():
        for e in _renamed(events, f"w-{name}"):
            writer.add(e)
    await writer.aclose()
    for name in runs:
        assert await _rows(sessions, f"w-{name}") == await _rows(sessions, f"p-{name}"), name
    assert await _performance(sessions) == [
        ("bad-m", "general", 0, 0, 4),
        ("gpt-x", "general", 0, 6, 4),
    ]


async def test_only_runs_held_whole_and_unjudged_take_the_direct_way() -> None:
    whole = passthrough_events("a", start=START)
    judged = run_events("b", start=START, scores=[7.0])
    tail = passthrough_events("c", start=START)[2:]
    found, rest = whole_runs.split([*whole, *judged, *tail])
    assert [r.thread_id for r in found] == ["a"]
    assert rest == [*judged, *tail]


async def test_a_thread_already_stored_goes_the_general_way(sessions: SessionFactory) -> None:
    events = passthrough_events("t-known", start=START)
    first = StoreWriter(sessions)
    for e in events[:3]:
        await first.handle(e)
    writer = EventWriter(sessions, flush_interval_s=60.0)
    await writer.start()
    for e in events:
        writer.add(e)
    await writer.aclose()
    async with sessions() as session:
        thread = await session.get(Thread, "t-known")
        logged = await session.scalar(
            select(func.count()).select_from(EventRecord).where(EventRecord.thread_id == "t-known")
        )
        usage = await session.scalar(
            select(func.count()).select_from(UsageRecord).where(UsageRecord.thread_id == "t-known")
        )
    assert thread is not None and thread.status == "completed"
    assert logged == len(events) and usage == 1


async def test_a_held_run_is_written_whole_once_it_ends(
    engine: AsyncEngine, sessions: SessionFactory
) -> None:
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2].lstrip().upper())

    writer = EventWriter(sessions, flush_interval_s=0.01)
    await writer.start()
    events = passthrough_events("t-held", start=START)
    writer.hold("t-held")
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        for e in events[:-1]:
            writer.add(e)
        assert writer.buffered("t-held") == events[:-1]
        writer.add(events[-1])
        await writer.settled("t-held")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
        await writer.aclose()
    writes = [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT"))]
    assert not [s for s in writes if s.startswith("SELECT")], writes
    assert len(writes) <= 8, writes
    assert writer.buffered("t-held") == []
    async with sessions() as session:
        thread = await session.get(Thread, "t-held")
    assert thread is not None and thread.status == "completed" and thread.last_seq == len(events)
