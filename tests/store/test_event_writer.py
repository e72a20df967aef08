"""The batched event writer: what it buffers, when it writes, and that it writes each event once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.core.events import Event
from orchestratex.store import leases
from orchestratex.store.db import SessionFactory
from orchestratex.store.tables import (
    Criticism,
    Evaluation,
    EventRecord,
    Prompt,
    Response,
    SelectionRecord,
    Thread,
    UsageRecord,
)
from orchestratex.store.writer import EventWriter, StoreWriter
from tests.store.factories import run_events
from tests.waiting import until

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NEVER_S = 60.0
"""A flush interval no test waits for: writes seen sooner were triggered by something else."""


@pytest.fixture
async def writer(sessions: SessionFactory) -> AsyncIterator[EventWriter]:
    w = EventWriter(sessions, flush_interval_s=NEVER_S)
    await w.start()
    yield w
    await w.aclose()


async def _seqs(sessions: SessionFactory, thread_id: str) -> list[int]:
    async with sessions() as session:
        rows = await session.scalars(
            select(EventRecord.seq)
            .where(EventRecord.thread_id == thread_id)
            .order_by(EventRecord.seq)
        )
        return list(rows)


async def _count(sessions: SessionFactory, table: type[Any], thread_id: str | None = None) -> int:
    query = select(func.count()).select_from(table)
    if thread_id is not None:
        query = query.where(table.thread_id == thread_id)
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


def _run(thread_id: str, scores: list[float] | None = None, **kw: Any) -> list[Event]:
    return run_events(thread_id, start=START, scores=scores or [6.5, 8.5], **kw)


async def test_events_wait_in_the_buffer_until_a_round_ends(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    events = _run("t-b")
    first_response = next(i for i, e in enumerate(events) if e.type == "response")
    for e in events[: first_response - 1]:
        writer.add(e)
    writer.add(events[first_response - 1])
    await asyncio.sleep(0)
    assert [e.seq for e in writer.buffered("t-b")] == [e.seq for e in events[:first_response]]
    assert [e.seq for e in writer.buffered("t-b", after_seq=2)] == list(
        range(3, first_response + 1)
    )
    assert await _seqs(sessions, "t-b") == []

    writer.add(events[first_response])

    async def stored() -> bool:
        return await _seqs(sessions, "t-b") == list(range(1, first_response + 2))

    await until(stored, what="the batch stored")
    assert writer.buffered("t-b") == []


async def test_buffered_is_in_seq_order_and_ignores_repeats(writer: EventWriter) -> None:
    events = _run("t-o")[:4]
    for e in (events[2], events[0], events[3], events[1], events[0]):
        writer.add(e)
    assert [e.seq for e in writer.buffered("t-o")] == [1, 2, 3, 4]
    assert writer.buffered("t-none") == []


async def test_a_whole_run_is_stored_with_its_chunks_when_it_ends(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    events = _run("t-w")
    for e in events:
        writer.add(e)

    async def finished() -> bool:
        async with sessions() as session:
            thread = await session.get(Thread, "t-w")
            return thread is not None and thread.status == "completed"

    await until(finished, what="the run stored as ended")
    assert await _seqs(sessions, "t-w") == [e.seq for e in events]
    async with sessions() as session:
        chunks = await session.scalar(
            select(func.count())
            .select_from(EventRecord)
            .where(EventRecord.type == "response_chunk")
        )
        thread = await session.get(Thread, "t-w")
    assert chunks == 2
    assert thread is not None and thread.last_seq == events[-1].seq


async def _rows(sessions: SessionFactory, thread_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """The run's rows, without ids, comparable between two threads."""
    ignored = {"id", "thread_id", "response_id", "evaluation_id", "runner_id", "heartbeat_at"}
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for table in (Thread, Prompt, Response, Evaluation, Criticism, UsageRecord):
            column = getattr(table, "id" if table is Thread else "thread_id")
            rows = (await session.execute(select(table).where(column == thread_id))).scalars()
            snapshot[table.__tablename__] = sorted(
                (
                    tuple(
                        repr(getattr(row, c.key))
                        for c in table.__table__.columns
                        if c.key not in ignored and c.key not in ("result", "request")
                    )
                    for row in rows
                ),
            )
        decisions = await session.scalars(
            select(SelectionRecord).where(SelectionRecord.thread_id == thread_id)
        )
        snapshot["decisions"] = [
            (d.model, d.round, d.kept_without_escalation, d.threshold_round, d.final_score)
            for d in decisions
        ]
    return snapshot


async def test_batched_rows_equal_the_rows_written_one_event_at_a_time(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    one_by_one = StoreWriter(sessions)
    for e in _run("t-same", failing_judge="mistral-z", escalate_to="big-m", scores=[5, 7, 9]):
        await one_by_one.handle(e)
    for e in _run("t-same", failing_judge="mistral-z", escalate_to="big-m", scores=[5, 7, 9]):
        writer.add(e.model_copy(update={"thread_id": "t-batch"}))
    await writer.flush()
    assert await _rows(sessions, "t-batch") == await _rows(sessions, "t-same")


async def test_a_replayed_run_writes_nothing_twice(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    events = _run("t-i", failing_judge="mistral-z")
    for e in events:
        writer.add(e)
    await writer.flush("t-i")
    tables = [EventRecord, Response, Evaluation, Criticism, UsageRecord, SelectionRecord, Prompt]
    before = [await _count(sessions, t) for t in tables]
    for e in events[3:] + events:
        writer.add(e)
    await writer.flush()
    again = EventWriter(sessions)
    await again.start()
    for e in events:
        again.add(e)
    await again.aclose()
    assert [await _count(sessions, t) for t in tables] == before
    assert before[0] == len(events)


async def test_aclose_writes_everything_it_holds(sessions: SessionFactory) -> None:
    writer = EventWriter(sessions, flush_interval_s=NEVER_S)
    await writer.start()
    runs = [_run(f"t-c{i}")[:-4] for i in range(5)]  # unfinished runs, no boundary at the end
    for events in runs:
        for e in events:
            writer.add(e)
    await writer.aclose()
    for i, events in enumerate(runs):
        assert await _seqs(sessions, f"t-c{i}") == [e.seq for e in events]
        assert writer.buffered(f"t-c{i}") == []
    rest = _run("t-c0")[len(runs[0]) :]
    await writer.start()
    for e in rest:
        writer.add(e)
    await writer.aclose()
    assert await _seqs(sessions, "t-c0") == [e.seq for e in _run("t-c0")]


async def _statements_for(
    engine: AsyncEngine, sessions: SessionFactory, runs: int, prefix: str
) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    writer = EventWriter(sessions, flush_interval_s=NEVER_S)
    await writer.start()
    for i in range(runs):
        for e in _run(f"{prefix}{i}", failing_judge="mistral-z"):
            writer.add(e)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await writer.aclose()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert await _count(sessions, Thread) >= runs
    return len([s for s in seen if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))])


async def test_a_batch_is_a_handful_of_statements_however_many_events(
    engine: AsyncEngine, sessions: SessionFactory
) -> None:
    few = await _statements_for(engine, sessions, 2, "t-few")
    many = await _statements_for(engine, sessions, 40, "t-many")
    assert await _count(sessions, EventRecord) == 42 * len(_run("x", failing_judge="mistral-z"))
    assert many == few, (few, many)
    assert many <= 30, many


async def test_the_thread_is_credited_to_its_best_round(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    won_late = _run("t-late", scores=[6.0, 9.0, 7.0], escalate_to="big-m")
    won_early = _run("t-early", scores=[9.0, 6.0], escalate_to="big-m")
    first_evaluation = next(i for i, e in enumerate(won_late) if e.type == "evaluation")
    for e in won_late[: first_evaluation + 1]:
        writer.add(e)
    await writer.flush("t-late")
    async with sessions() as session:
        running = await session.get(Thread, "t-late")
        assert running is not None and running.selected_model == "gpt-x"
    for e in won_late[first_evaluation + 1 :] + won_early:
        writer.add(e)
    await writer.flush()
    async with sessions() as session:
        late = await session.get(Thread, "t-late")
        early = await session.get(Thread, "t-early")
    assert late is not None and (late.best_round, late.selected_model) == (2, "big-m")
    assert early is not None and (early.best_round, early.selected_model) == (1, "gpt-x")


async def test_usage_rows_equal_model_calls_under_a_burst_with_faults(
    engine: AsyncEngine, sessions: SessionFactory
) -> None:
    """Many runs at once, through two writers (two processes) and failing statements: one usage
    row per model_call event, none lost, none doubled."""
    failures = {"left": 5}

    def flaky(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO usage_records") and failures["left"] > 0:
            failures["left"] -= 1
            raise ConnectionError("injected fault")

    runs = [
        _run(f"t-burst{i}", failing_judge="mistral-z" if i % 3 == 0 else None) for i in range(60)
    ]
    first = EventWriter(sessions, flush_interval_s=0.01, max_batch=50)
    second = EventWriter(sessions, flush_interval_s=0.01, max_batch=50)
    await first.start()
    await second.start()

    async def produce(events: list[Event], index: int) -> None:
        for e in events:
            first.add(e)
            if index % 2 == 0:
                second.add(e)
            await asyncio.sleep(0)

    event.listen(engine.sync_engine, "before_cursor_execute", flaky)
    try:
        await asyncio.gather(*(produce(events, i) for i, events in enumerate(runs)))
        await asyncio.gather(first.aclose(), second.aclose())
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", flaky)
    assert failures["left"] == 0
    calls = sum(1 for events in runs for e in events if e.type == "model_call")
    assert await _count(sessions, UsageRecord) == calls
    assert await _count(sessions, EventRecord) == sum(len(events) for events in runs)
    assert first.dropped == second.dropped == 0


async def test_a_refused_thread_costs_only_its_own_events(
    engine: AsyncEngine, sessions: SessionFactory
) -> None:
    def refuse(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        if "t-bad" in repr(parameters):
            raise ValueError("refused")

    writer = EventWriter(sessions, flush_interval_s=NEVER_S)
    await writer.start()
    good = _run("t-good")
    bad = _run("t-bad")[:2]
    event.listen(engine.sync_engine, "before_cursor_execute", refuse)
    try:
        for e in bad + good:
            writer.add(e)
        await writer.flush()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", refuse)
    assert await _seqs(sessions, "t-good") == [e.seq for e in good]
    assert await _seqs(sessions, "t-bad") == []
    assert writer.dropped == len(bad)
    later = _run("t-after")
    for e in later:
        writer.add(e)
    await writer.aclose()
    assert await _seqs(sessions, "t-after") == [e.seq for e in later]


async def test_resume_point_reads_completed_rounds_from_a_log_with_chunks(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    events = _run("t-r", scores=[6.0, 7.0, 9.0])
    second_evaluation = [i for i, e in enumerate(events) if e.type == "evaluation"][1]
    cut = second_evaluation + 4  # round 3 began: its improvement, chunk and call are stored
    for e in events[:cut]:
        writer.add(e)
    await writer.flush()
    async with sessions() as session:
        point = await leases.resume_point(session=session, thread_id="t-r")
    assert point is not None
    assert [(r.round, r.score) for r in point.rounds] == [(1, 6.0), (2, 7.0)]
    assert point.last_seq == events[cut - 1].seq
    begun = [e.type for e in events[second_evaluation + 1 : cut]]
    assert begun == ["improvement", "response_chunk", "model_call"]


async def test_what_a_crash_would_lose_is_only_the_unflushed_tail(
    sessions: SessionFactory, writer: EventWriter
) -> None:
    """Round 1 ended (written at its boundary); round 2 began and is only buffered. Were the
    process to die now, the store would still resume the run after round 1."""
    events = _run("t-crash", scores=[6.0, 7.0])
    first_evaluation = next(i for i, e in enumerate(events) if e.type == "evaluation")
    for e in events[: first_evaluation + 1]:
        writer.add(e)

    async def round_one_stored() -> bool:
        return await _seqs(sessions, "t-crash") == list(range(1, first_evaluation + 2))

    await until(round_one_stored, what="round one stored")
    for e in events[first_evaluation + 1 : first_evaluation + 4]:
        writer.add(e)
    for _ in range(5):  # let the writer task run: no boundary among these, so it holds them
        await asyncio.sleep(0)
    assert await round_one_stored()
    assert [e.type for e in writer.buffered("t-crash")] == [
        "improvement",
        "response_chunk",
        "model_call",
    ]
    async with sessions() as session:
        point = await leases.resume_point(session=session, thread_id="t-crash")
    assert point is not None
    assert [r.round for r in point.rounds] == [1]
    assert point.last_seq == events[first_evaluation].seq
