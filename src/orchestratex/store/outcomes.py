"""What a run's end teaches: thread totals, selection outcomes and model performance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.orchestration import OrchestrationResult
from orchestratex.store.tables import (
    ModelPerformance,
    Response,
    SelectionRecord,
    Thread,
    UsageRecord,
)


async def finish_run(
    session: AsyncSession,
    thread: Thread,
    status: str,
    result: OrchestrationResult | None,
    error: str | None,
    ts: datetime,
) -> None:
    """Close the thread, score its selection decisions and update model_performance."""
    thread.status = status
    thread.completed_at = ts
    thread.error = error or (result.error if result else None)
    if result is not None:
        thread.result = result.model_dump(mode="json")
        thread.best_round = result.best_round
        thread.final_score = result.score
        thread.stop_reason = result.stop_reason
        thread.total_cost_usd = result.total_cost_usd
        thread.input_tokens = result.usage.input_tokens
        thread.output_tokens = result.usage.output_tokens
    elif thread.stop_reason is None:
        thread.stop_reason = "failed" if status == "failed" else status
    await session.flush()
    rounds = list(
        await session.scalars(
            select(Response).where(Response.thread_id == thread.id).order_by(Response.round)
        )
    )
    await _record_outcome(session, thread, rounds)
    await _learn(session, thread, rounds, ts)


async def _record_outcome(session: AsyncSession, thread: Thread, rounds: list[Response]) -> None:
    threshold = (thread.request or {}).get("threshold")
    reached = [
        r.round
        for r in rounds
        if threshold is not None and r.score is not None and r.score >= threshold
    ]
    escalations = [r.round for r in rounds if r.kind == "escalation"]
    scores = [r.score for r in rounds if r.score is not None]
    final = thread.final_score if thread.final_score is not None else max(scores, default=None)
    decisions = await session.scalars(
        select(SelectionRecord).where(SelectionRecord.thread_id == thread.id)
    )
    for decision in decisions:
        decision.kept_without_escalation = not any(r > decision.round for r in escalations)
        decision.threshold_round = min(reached, default=None)
        decision.final_score = final


async def _performance_row(
    session: AsyncSession, model: str, domain: str, ts: datetime
) -> ModelPerformance:
    query = (
        select(ModelPerformance)
        .where(ModelPerformance.model == model, ModelPerformance.domain == domain)
        .with_for_update()
    )
    row = await session.scalar(query)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            row = ModelPerformance(
                model=model,
                domain=domain,
                samples=0,
                mean_score=0.0,
                m2=0.0,
                successes=0,
                failures=0,
                mean_latency_ms=0.0,
                mean_cost_usd=0.0,
                updated_at=ts,
            )
            session.add(row)
    except IntegrityError:
        row = (await session.scalars(query)).one()
    return row


async def _learn(
    session: AsyncSession, thread: Thread, rounds: list[Response], ts: datetime
) -> None:
    domain = thread.domain or "general"
    for response in rounds:
        if response.score is None:
            continue
        row = await _performance_row(session, response.model, domain, ts)
        row.samples += 1
        delta = response.score - row.mean_score
        row.mean_score += delta / row.samples
        row.m2 += delta * (response.score - row.mean_score)
        row.mean_latency_ms += (response.latency_ms - row.mean_latency_ms) / row.samples
        row.mean_cost_usd += (response.cost_usd - row.mean_cost_usd) / row.samples
        row.updated_at = ts
    calls = await session.execute(
        select(
            UsageRecord.model,
            func.sum(case((UsageRecord.success, 1), else_=0)),
            func.sum(case((UsageRecord.success, 0), else_=1)),
        )
        .where(UsageRecord.thread_id == thread.id)
        .group_by(UsageRecord.model)
    )
    for model, successes, failures in calls.all():
        row = await _performance_row(session, model, domain, ts)
        row.successes += int(successes or 0)
        row.failures += int(failures or 0)
        row.updated_at = ts
