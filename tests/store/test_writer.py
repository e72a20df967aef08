"""The writer turns a realistic run into rows, once, however often the events arrive."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from orchestratex.core.events import EvaluationEvent, FailedEvent, StartedEvent
from orchestratex.core.orchestration import JudgeVerdict, OrchestrationRequest, RubricScore
from orchestratex.store.db import SessionFactory
from orchestratex.store.tables import (
    Criticism,
    Evaluation,
    EventRecord,
    JudgeReliabilityRecord,
    ModelPerformance,
    Prompt,
    Response,
    SelectionRecord,
    Thread,
    UsageRecord,
)
from orchestratex.store.writer import StoreWriter
from tests.store.factories import feed, run_events

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RUBRIC = ("accuracy", "completeness", "clarity", "relevance", "overall")


def sample_run() -> list[Any]:
    return run_events(
        "t-a", start=START, scores=[6.5, 8.5], user_id=None, failing_judge="mistral-z"
    )


async def _count(sessions: SessionFactory, table: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_run_fills_every_table(sessions: SessionFactory) -> None:
    events = sample_run()
    await feed(sessions, events)
    async with sessions() as session:
        thread = await session.get(Thread, "t-a")
        assert thread is not None
        assert thread.status == "completed"
        assert (thread.domain, thread.complexity, thread.selected_model) == ("coding", 0.3, "gpt-x")
        assert (thread.best_round, thread.final_score, thread.stop_reason) == (2, 8.5, "threshold")
        assert thread.total_cost_usd == sum(r.cost_usd for r in events[-1].result.rounds)
        assert (thread.input_tokens, thread.output_tokens) == (800, 260)
        assert thread.last_seq == events[-1].seq
        assert thread.completed_at == events[-1].ts
        assert thread.result is not None and thread.result["best_round"] == 2
        prompt = await session.scalar(select(Prompt))
        assert prompt is not None and prompt.text.startswith("Write a Python function")
        assert prompt.analysis is not None and prompt.analysis["domain"] == "coding"
        responses = list(await session.scalars(select(Response).order_by(Response.round)))
        assert [(r.round, r.kind, r.score) for r in responses] == [
            (1, "initial", 6.5),
            (2, "revision", 8.5),
        ]
        evaluations = list(await session.scalars(select(Evaluation).order_by(Evaluation.id)))
        assert [(e.round, e.judge, e.overall, e.error) for e in evaluations] == [
            (1, "claude-y", 6.5, None),
            (1, "mistral-z", None, "timeout"),
            (2, "claude-y", 8.5, None),
        ]
        assert evaluations[0].response_id == responses[0].id
        criticisms = list(await session.scalars(select(Criticism).order_by(Criticism.id)))
        assert [c.evaluation_id for c in criticisms] == [evaluations[0].id, evaluations[2].id]
        assert criticisms[0].suggestions == ["suggestion 1a", "suggestion 1b"]
        usage = list(await session.scalars(select(UsageRecord).order_by(UsageRecord.id)))
        assert [(u.model, u.purpose, u.success) for u in usage] == [
            ("gpt-x", "generate", True),
            ("claude-y", "judge", True),
            ("mistral-z", "judge", False),
            ("gpt-x", "revise", True),
            ("claude-y", "judge", True),
        ]
        decision = await session.scalar(select(SelectionRecord))
        assert decision is not None
        assert decision.reasons[0] == "best expected quality for coding"
        assert len(decision.candidates) == 2
        assert (decision.kept_without_escalation, decision.threshold_round) == (True, 2)
        assert decision.final_score == 8.5
        perf = {
            p.model: p
            for p in await session.scalars(select(ModelPerformance).order_by(ModelPerformance.id))
        }
        assert set(perf) == {"gpt-x", "claude-y", "mistral-z"}
        assert (perf["gpt-x"].samples, perf["gpt-x"].mean_score) == (2, 7.5)
        assert perf["gpt-x"].m2 == 2.0
        assert (perf["gpt-x"].successes, perf["gpt-x"].failures) == (2, 0)
        assert (perf["mistral-z"].samples, perf["mistral-z"].failures) == (0, 1)
        assert perf["claude-y"].successes == 2
        logged = list(await session.scalars(select(EventRecord.type).order_by(EventRecord.seq)))
    assert logged == [e.type for e in events]
    assert "response_chunk" in logged


async def test_replayed_events_write_nothing_twice(sessions: SessionFactory) -> None:
    events = sample_run()
    await feed(sessions, events)
    tables = [Response, Evaluation, Criticism, UsageRecord, SelectionRecord, EventRecord, Prompt]
    before = [await _count(sessions, t) for t in tables]
    await feed(sessions, events)
    await feed(sessions, events[3:7])
    assert [await _count(sessions, t) for t in tables] == before
    async with sessions() as session:
        perf = await session.scalar(
            select(ModelPerformance).where(ModelPerformance.model == "gpt-x")
        )
        assert perf is not None and perf.samples == 2


async def test_concurrent_writers_store_each_event_once(sessions: SessionFactory) -> None:
    events = sample_run()
    first, second = StoreWriter(sessions), StoreWriter(sessions)
    for event in events:
        await asyncio.gather(first.handle(event), second.handle(event))
    assert await _count(sessions, EventRecord) == len(events)
    assert await _count(sessions, UsageRecord) == 5
    assert await _count(sessions, Evaluation) == 3
    async with sessions() as session:
        perf = await session.scalar(
            select(ModelPerformance).where(ModelPerformance.model == "gpt-x")
        )
        assert perf is not None and perf.samples == 2


async def test_failed_run_records_the_error(sessions: SessionFactory) -> None:
    request = OrchestrationRequest(prompt="hello")
    await feed(
        sessions,
        [
            StartedEvent(thread_id="t-f", seq=1, ts=START, request=request),
            FailedEvent(thread_id="t-f", seq=2, ts=START, error="no model is configured"),
        ],
    )
    async with sessions() as session:
        thread = await session.get(Thread, "t-f")
        assert thread is not None
        assert (thread.status, thread.error, thread.stop_reason) == (
            "failed",
            "no model is configured",
            "failed",
        )
        assert thread.prompt_preview == "hello"


async def test_chunks_are_stored_with_the_threads_next_event(sessions: SessionFactory) -> None:
    events = sample_run()
    chunk = next(i for i, e in enumerate(events) if e.type == "response_chunk")
    writer = StoreWriter(sessions)
    for e in events[: chunk + 1]:
        await writer.handle(e)
    assert [e.seq for e in writer.buffered("t-a")] == [events[chunk].seq]
    assert await _count(sessions, EventRecord) == chunk
    await writer.handle(events[chunk + 1])
    assert writer.buffered("t-a") == []
    assert await _count(sessions, EventRecord) == chunk + 2


def _judged_by_three(thread_id: str) -> list[Any]:
    """A one-round run judged 8.0 by claude-y and, added here, 8.0 by j2 and 2.0 by j3."""
    events = run_events(thread_id, start=START, scores=[8.0])
    extra = [
        JudgeVerdict(judge=judge, score=RubricScore(**dict.fromkeys(RUBRIC, score), critique="c"))
        for judge, score in (("j2", 8.0), ("j3", 2.0))
    ]
    return [
        e.model_copy(update={"verdicts": [*e.verdicts, *extra]})
        if isinstance(e, EvaluationEvent)
        else e
        for e in events
    ]


async def _judge_records(sessions: SessionFactory) -> dict[str, tuple[int, float]]:
    async with sessions() as session:
        rows = await session.scalars(select(JudgeReliabilityRecord))
        return {r.judge: (r.verdicts, round(r.agreement_sum, 9)) for r in rows}


async def test_judge_reliability_is_learned_once_per_run_at_its_end(
    sessions: SessionFactory,
) -> None:
    first = _judged_by_three("t-j1")
    await feed(sessions, first[:-1])
    assert await _judge_records(sessions) == {}, "learned at the run's end, not before"
    await feed(sessions, first)
    once = {"claude-y": (1, 0.7), "j2": (1, 0.7), "j3": (1, 0.4)}
    assert await _judge_records(sessions) == once
    await feed(sessions, first)  # replayed: nothing learned twice
    assert await _judge_records(sessions) == once
    second = _judged_by_three("t-j2")
    writers = StoreWriter(sessions), StoreWriter(sessions)
    for event in second:  # two processes writing the same run: it is learned once
        await asyncio.gather(*(w.handle(event) for w in writers))
    assert await _judge_records(sessions) == {
        "claude-y": (2, 1.4),
        "j2": (2, 1.4),
        "j3": (2, 0.8),
    }
