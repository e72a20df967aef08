"""Rows derived from a batch's new events: prompt, analysis, selections, usage, rounds, judges.

Each kind of row is written with one statement per batch (a multi-row INSERT, or one UPDATE
executed for many rows), in the order a run produces them: a run's start, its analysis, its
selections, its calls, its answers, then the judges' verdicts on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import (
    AnalysisEvent,
    EvaluationEvent,
    Event,
    ModelCallEvent,
    ResponseEvent,
    SelectionEvent,
    StartedEvent,
)
from orchestratex.core.orchestration import CANDIDATES
from orchestratex.store.sql import (
    CRITICISMS,
    EVALUATIONS,
    PROMPTS,
    RESPONSES,
    SELECTIONS,
    THREADS,
    USAGE,
    upsert,
)

PREVIEW_CHARS = 200


async def _started(session: AsyncSession, events: list[StartedEvent]) -> None:
    if not events:
        return
    ids = sorted({e.thread_id for e in events})
    await session.execute(
        update(THREADS)
        .where(THREADS.c.id.in_(ids), THREADS.c.status.in_(("queued", "running", "interrupted")))
        .values(status="running")
    )
    await session.execute(
        update(THREADS)
        .where(THREADS.c.id == bindparam("b_id"))
        .values(
            user_id=func.coalesce(bindparam("b_user"), THREADS.c.user_id),
            request=bindparam("b_request", type_=THREADS.c.request.type),
            prompt_preview=bindparam("b_preview"),
        ),
        [
            {
                "b_id": e.thread_id,
                "b_user": e.user_id,
                "b_request": e.request.model_dump(mode="json"),
                "b_preview": e.request.prompt[:PREVIEW_CHARS],
            }
            for e in events
        ],
    )
    await session.execute(
        upsert(session, PROMPTS).on_conflict_do_nothing(index_elements=["thread_id"]),
        [
            {"thread_id": e.thread_id, "text": e.request.prompt, "system": e.request.system}
            for e in events
        ],
    )


async def _analysis(session: AsyncSession, events: list[AnalysisEvent]) -> None:
    if not events:
        return
    rows = [
        {
            "b_id": e.thread_id,
            "b_domain": e.analysis.domain.value,
            "b_complexity": e.analysis.complexity,
            "b_analysis": e.analysis.model_dump(mode="json"),
        }
        for e in events
    ]
    await session.execute(
        update(THREADS)
        .where(THREADS.c.id == bindparam("b_id"))
        .values(domain=bindparam("b_domain"), complexity=bindparam("b_complexity")),
        [{k: v for k, v in row.items() if k != "b_analysis"} for row in rows],
    )
    await session.execute(
        update(PROMPTS)
        .where(PROMPTS.c.thread_id == bindparam("b_id"))
        .values(
            analysis=bindparam("b_analysis", type_=PROMPTS.c.analysis.type),
            domain=bindparam("b_domain"),
            complexity=bindparam("b_complexity"),
        ),
        rows,
    )


async def _selections(session: AsyncSession, events: list[SelectionEvent]) -> None:
    if not events:
        return
    await session.execute(
        insert(SELECTIONS),
        [
            {
                "thread_id": e.thread_id,
                "round": e.round,
                "model": e.decision.model,
                "strategy": e.decision.strategy,
                "reasons": list(e.decision.reasons),
                "candidates": CANDIDATES.dump_python(e.decision.candidates, mode="json"),
                "created_at": e.ts,
            }
            for e in events
        ],
    )
    # The model shown while the run goes on: the first choice, until a round is scored.
    first = {e.thread_id: e.decision.model for e in events if e.round == 1}
    later = {e.thread_id: e.decision.model for e in reversed(events) if e.thread_id not in first}
    if first:
        await session.execute(
            update(THREADS)
            .where(THREADS.c.id == bindparam("b_id"))
            .values(selected_model=bindparam("b_model")),
            [{"b_id": t, "b_model": m} for t, m in sorted(first.items())],
        )
    if later:
        await session.execute(
            update(THREADS)
            .where(THREADS.c.id == bindparam("b_id"), THREADS.c.selected_model.is_(None))
            .values(selected_model=bindparam("b_model")),
            [{"b_id": t, "b_model": m} for t, m in sorted(later.items())],
        )


async def _usage(session: AsyncSession, events: list[ModelCallEvent]) -> None:
    """One usage row per model_call event, with the thread's user (as of this batch)."""
    if not events:
        return
    ids = sorted({e.thread_id for e in events})
    users = dict(
        (
            await session.execute(
                select(THREADS.c.id, THREADS.c.user_id).where(THREADS.c.id.in_(ids))
            )
        ).all()
    )
    await session.execute(insert(USAGE), [usage_row(e, users.get(e.thread_id)) for e in events])


async def _responses(session: AsyncSession, events: list[ResponseEvent]) -> None:
    """One row per (thread, round); a later answer to the same round (a new attempt) wins."""
    if not events:
        return
    latest = {(e.thread_id, e.round): e for e in events}
    rows = [response_row(e) for _, e in sorted(latest.items())]
    statement = upsert(session, RESPONSES)
    replaced = {
        name: statement.excluded[name] for name in rows[0] if name not in ("thread_id", "round")
    }
    await session.execute(
        statement.on_conflict_do_update(index_elements=["thread_id", "round"], set_=replaced),
        rows,
    )


async def _response_ids(
    session: AsyncSession, keys: set[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    ids = sorted({thread_id for thread_id, _ in keys})
    rows = await session.execute(
        select(RESPONSES.c.thread_id, RESPONSES.c.round, RESPONSES.c.id).where(
            RESPONSES.c.thread_id.in_(ids)
        )
    )
    return {(t, r): i for t, r, i in rows if (t, r) in keys}


def response_row(e: ResponseEvent) -> dict[str, Any]:
    """The responses row of one answer, unscored (general path and whole-run writes alike)."""
    return {
        "thread_id": e.thread_id,
        "round": e.round,
        "model": e.model,
        "kind": e.kind,
        "text": e.text,
        "input_tokens": e.usage.input_tokens,
        "output_tokens": e.usage.output_tokens,
        "cost_usd": e.cost_usd,
        "latency_ms": e.latency_ms,
        "finish_reason": e.finish_reason,
        "score": None,
        "created_at": e.ts,
    }


def usage_row(e: ModelCallEvent, user_id: str | None) -> dict[str, Any]:
    """The usage_records row of one model call (general path and whole-run writes alike)."""
    return {
        "thread_id": e.thread_id,
        "user_id": user_id,
        "round": e.round,
        "model": e.model,
        "provider": e.provider,
        "purpose": e.purpose,
        "input_tokens": e.usage.input_tokens,
        "output_tokens": e.usage.output_tokens,
        "cost_usd": e.cost_usd,
        "cost_known": e.cost_known,
        "latency_ms": e.latency_ms,
        "success": e.success,
        "error": e.error,
        "created_at": e.ts,
    }


def _evaluation_row(event: EvaluationEvent, index: int, response_id: int | None) -> dict[str, Any]:
    verdict = event.verdicts[index]
    rubric = verdict.score
    return {
        "response_id": response_id,
        "thread_id": event.thread_id,
        "round": event.round,
        "judge": verdict.judge,
        "accuracy": rubric.accuracy if rubric else None,
        "completeness": rubric.completeness if rubric else None,
        "clarity": rubric.clarity if rubric else None,
        "relevance": rubric.relevance if rubric else None,
        "overall": rubric.overall if rubric else None,
        "weight": verdict.weight,
        "error": verdict.error,
        "cost_usd": verdict.cost_usd,
        "latency_ms": verdict.latency_ms,
        "created_at": event.ts,
    }


async def _insert_evaluations(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows; returns their ids in order (criticisms point at them).

    PostgreSQL returns them in order from one multi-row INSERT. SQLite can only promise that
    one row at a time, so there the ids are chosen here: this transaction began with a write,
    so it holds the database's write lock and no other writer can take the same ids.
    """
    if session.get_bind().dialect.name == "postgresql":
        statement = insert(EVALUATIONS).returning(EVALUATIONS.c.id, sort_by_parameter_order=True)
        return list((await session.execute(statement, rows)).scalars().all())
    top = await session.scalar(select(func.coalesce(func.max(EVALUATIONS.c.id), 0)))
    ids = list(range(int(top or 0) + 1, int(top or 0) + 1 + len(rows)))
    await session.execute(
        insert(EVALUATIONS), [row | {"id": i} for row, i in zip(rows, ids, strict=True)]
    )
    return ids


async def _evaluations(session: AsyncSession, events: list[EvaluationEvent]) -> None:
    if not events:
        return
    response_ids = await _response_ids(session, {(e.thread_id, e.round) for e in events})
    await session.execute(
        update(RESPONSES)
        .where(
            and_(RESPONSES.c.thread_id == bindparam("b_id"), RESPONSES.c.round == bindparam("b_r"))
        )
        .values(score=bindparam("b_score")),
        [{"b_id": e.thread_id, "b_r": e.round, "b_score": e.score} for e in events],
    )
    verdicts = [(e, i) for e in events for i in range(len(e.verdicts))]
    if verdicts:
        rows = [
            _evaluation_row(e, i, response_ids.get((e.thread_id, e.round))) for e, i in verdicts
        ]
        evaluation_ids = await _insert_evaluations(session, rows)
        critiques = [
            {
                "evaluation_id": evaluation_id,
                "thread_id": e.thread_id,
                "round": e.round,
                "judge": e.verdicts[i].judge,
                "critique": rubric.critique,
                "suggestions": list(rubric.suggestions),
                "created_at": e.ts,
            }
            for (e, i), evaluation_id in zip(verdicts, evaluation_ids, strict=True)
            if (rubric := e.verdicts[i].score) is not None
        ]
        if critiques:
            await session.execute(insert(CRITICISMS), critiques)
    await _credit_best_so_far(session, sorted({e.thread_id for e in events}))


async def _credit_best_so_far(session: AsyncSession, thread_ids: list[str]) -> None:
    """While a run goes on, its model is the model of its best scored round so far."""
    rows = await session.execute(
        select(RESPONSES.c.thread_id, RESPONSES.c.model, RESPONSES.c.score)
        .where(RESPONSES.c.thread_id.in_(thread_ids), RESPONSES.c.score.is_not(None))
        .order_by(RESPONSES.c.thread_id, RESPONSES.c.round)
    )
    best: dict[str, tuple[float, str]] = {}
    for thread_id, model, score in rows:
        if thread_id not in best or score > best[thread_id][0]:
            best[thread_id] = (score, model)
    if best:
        await session.execute(
            update(THREADS)
            .where(THREADS.c.id == bindparam("b_id"))
            .values(selected_model=bindparam("b_model")),
            [{"b_id": t, "b_model": m} for t, (_, m) in sorted(best.items())],
        )


async def derive(session: AsyncSession, events: Sequence[Event]) -> None:
    """Write the rows these (new) events imply; the event log is written by the caller."""
    await _started(session, [e for e in events if isinstance(e, StartedEvent)])
    await _analysis(session, [e for e in events if isinstance(e, AnalysisEvent)])
    await _selections(session, [e for e in events if isinstance(e, SelectionEvent)])
    await _usage(session, [e for e in events if isinstance(e, ModelCallEvent)])
    await _responses(session, [e for e in events if isinstance(e, ResponseEvent)])
    await _evaluations(session, [e for e in events if isinstance(e, EvaluationEvent)])
