"""Run leases and resume points: who runs a thread, whether it is still alive, where to resume.

A runner (an instance or a worker) claims a queued or running thread by writing its id and a
heartbeat; it renews the heartbeat while the run goes on. A lease whose heartbeat is older than
the TTL (or that has no runner) has expired: its runner is gone, and another runner may claim
the thread and resume it from its completed rounds, rebuilt from the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import EVENT_ADAPTER, EvaluationEvent, ResponseEvent
from orchestratex.core.orchestration import OrchestrationRequest, RoundResult
from orchestratex.core.types import TokenUsage
from orchestratex.store.tables import (
    ACTIVE_STATUSES,
    Criticism,
    Evaluation,
    EventRecord,
    Response,
    Thread,
    utc_now,
)


@dataclass(frozen=True)
class Lease:
    status: str
    runner_id: str | None
    heartbeat_at: datetime | None


@dataclass(frozen=True)
class ResumePoint:
    """What a new attempt needs: the request, the completed rounds and the next seq."""

    thread_id: str
    request: OrchestrationRequest
    user_id: str | None
    rounds: list[RoundResult]
    last_seq: int
    spent_usd: float
    """What earlier attempts recorded (the thread's running total of its usage records)."""
    usage: TokenUsage


def _expired(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        Thread.runner_id.is_(None), Thread.heartbeat_at.is_(None), Thread.heartbeat_at < cutoff
    )


async def claim(*, session: AsyncSession, thread_id: str, runner_id: str, ttl_s: float) -> bool:
    """Take the thread's lease if it is unfinished and its lease is ours or expired."""
    now = utc_now()
    result = await session.execute(
        update(Thread)
        .where(
            Thread.id == thread_id,
            Thread.status.in_(ACTIVE_STATUSES),
            or_(Thread.runner_id == runner_id, _expired(now - timedelta(seconds=ttl_s))),
        )
        .values(runner_id=runner_id, heartbeat_at=now)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def renew(*, session: AsyncSession, runner_id: str, thread_ids: list[str]) -> int:
    """Renew our leases on these threads; returns how many were renewed."""
    if not thread_ids:
        return 0
    result = await session.execute(
        update(Thread)
        .where(Thread.id.in_(thread_ids), Thread.runner_id == runner_id)
        .values(heartbeat_at=utc_now())
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def lease(*, session: AsyncSession, thread_id: str) -> Lease | None:
    row = (
        await session.execute(
            select(Thread.status, Thread.runner_id, Thread.heartbeat_at).where(
                Thread.id == thread_id
            )
        )
    ).first()
    if row is None:
        return None
    return Lease(status=row[0], runner_id=row[1], heartbeat_at=row[2])


async def expired(
    *, session: AsyncSession, ttl_s: float, claimed_only: bool = False, grace_s: float = 0.0
) -> list[str]:
    """Unfinished threads whose lease expired `grace_s` ago or more, oldest first.

    With `claimed_only`, threads no runner ever claimed (queued ones) are left out.
    """
    cutoff = utc_now() - timedelta(seconds=ttl_s + grace_s)
    condition = Thread.heartbeat_at < cutoff if claimed_only else _expired(cutoff)
    ids = await session.scalars(
        select(Thread.id)
        .where(Thread.status.in_(ACTIVE_STATUSES), condition)
        .order_by(Thread.created_at, Thread.id)
    )
    return list(ids)


async def queued_since(*, session: AsyncSession, seconds: float) -> list[str]:
    """Queued threads nobody claimed, created more than `seconds` ago."""
    cutoff = utc_now() - timedelta(seconds=seconds)
    ids = await session.scalars(
        select(Thread.id).where(
            Thread.status == "queued", Thread.runner_id.is_(None), Thread.created_at < cutoff
        )
    )
    return list(ids)


async def interrupt(
    *, session: AsyncSession, thread_ids: list[str], error: str, runner_id: str | None = None
) -> int:
    """Mark these threads interrupted if still unfinished (and, given `runner_id`, still ours)."""
    if not thread_ids:
        return 0
    query = update(Thread).where(Thread.id.in_(thread_ids), Thread.status.in_(ACTIVE_STATUSES))
    if runner_id is not None:
        query = query.where(Thread.runner_id == runner_id)
    result = await session.execute(
        query.values(status="interrupted", error=error, updated_at=utc_now())
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def _rebuild(response: ResponseEvent, evaluation: EvaluationEvent) -> RoundResult:
    verdicts = list(evaluation.verdicts)
    return RoundResult(
        round=response.round,
        model=response.model,
        answer=response.text,
        kind=response.kind,
        verdicts=verdicts,
        score=evaluation.score,
        cost_usd=response.cost_usd + sum(v.cost_usd for v in verdicts),
        usage=sum((v.usage for v in verdicts), response.usage),
        latency_ms=response.latency_ms + max((v.latency_ms for v in verdicts), default=0.0),
        tool_calls=list(response.tool_calls),
    )


async def completed_rounds(*, session: AsyncSession, thread_id: str) -> list[RoundResult]:
    """Rounds 1..k that were answered and judged, rebuilt from the event log.

    Several attempts may have logged the same round: the latest answer before an evaluation
    of that round is the one the evaluation judged.
    """
    payloads = await session.scalars(
        select(EventRecord.payload)
        .where(
            EventRecord.thread_id == thread_id,
            EventRecord.type.in_(("response", "evaluation")),
        )
        .order_by(EventRecord.seq)
    )
    answers: dict[int, ResponseEvent] = {}
    done: dict[int, RoundResult] = {}
    for payload in payloads:
        event = EVENT_ADAPTER.validate_python(payload)
        if isinstance(event, ResponseEvent):
            answers[event.round] = event
        elif isinstance(event, EvaluationEvent) and event.round in answers:
            done[event.round] = _rebuild(answers[event.round], event)
    rounds: list[RoundResult] = []
    while len(rounds) + 1 in done:
        rounds.append(done[len(rounds) + 1])
    return rounds


async def resume_point(*, session: AsyncSession, thread_id: str) -> ResumePoint | None:
    """Where a new attempt starts; None when the thread is gone, finished or has no request."""
    thread = await session.get(Thread, thread_id)
    if thread is None or thread.status not in ACTIVE_STATUSES or thread.request is None:
        return None
    request = OrchestrationRequest.model_validate(thread.request)
    return ResumePoint(
        thread_id=thread_id,
        request=request,
        user_id=thread.user_id,
        rounds=await completed_rounds(session=session, thread_id=thread_id),
        last_seq=thread.last_seq or 0,
        spent_usd=thread.total_cost_usd,
        usage=TokenUsage(input_tokens=thread.input_tokens, output_tokens=thread.output_tokens),
    )


async def drop_partial_rounds(*, session: AsyncSession, thread_id: str, after: int) -> None:
    """Remove the rows of rounds after `after`, which a new attempt plays again."""
    for table in (Criticism, Evaluation, Response):
        await session.execute(
            delete(table).where(table.thread_id == thread_id, table.round > after)
        )
    await session.commit()
