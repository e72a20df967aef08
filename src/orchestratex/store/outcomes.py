"""What a run's end teaches, in one place: the thread's result and credit, selection outcomes
and model performance. Called once per run, in the transaction that stores its terminal event.

Credit: a thread's model (`threads.selected_model`, shown in history and the run summary) is
the model of its best round, the one whose score won; not the model selected first.
Learning: each scored round is a sample of its model's quality in the run's domain; each
`model_call` (usage row) is a success or a failure of its model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import CancelledEvent, CompletedEvent, FailedEvent
from orchestratex.core.orchestration import OrchestrationResult
from orchestratex.store.sql import PERFORMANCE, RESPONSES, SELECTIONS, THREADS, USAGE, upsert

Terminal = CompletedEvent | FailedEvent | CancelledEvent


@dataclass(frozen=True)
class _Round:
    round: int
    model: str
    kind: str
    score: float | None
    latency_ms: float
    cost_usd: float


def best_round(rounds: list[_Round]) -> _Round | None:
    """The highest score (ties: the earlier round), as the engine picks it; None if unscored."""
    best: _Round | None = None
    for r in rounds:
        if r.score is not None and (best is None or best.score is None or r.score > best.score):
            best = r
    return best


def _credited_model(result: OrchestrationResult | None, rounds: list[_Round]) -> str | None:
    if result is not None and result.best_round is not None:
        for r in result.rounds:
            if r.round == result.best_round:
                return r.model
        for stored in rounds:
            if stored.round == result.best_round:
                return stored.model
    best = best_round(rounds)
    return best.model if best is not None else None


async def finish_run(session: AsyncSession, event: Terminal) -> None:
    """Close the thread, credit its best round, score its selections and learn from the run."""
    thread_id = event.thread_id
    status = event.type
    result = event.result
    error = event.error if isinstance(event, FailedEvent) else None
    row = (
        await session.execute(
            select(THREADS.c.request, THREADS.c.domain, THREADS.c.stop_reason).where(
                THREADS.c.id == thread_id
            )
        )
    ).one()
    request, domain, stop_reason = row
    values: dict[str, Any] = {
        "status": status,
        "completed_at": event.ts,
        "error": error or (result.error if result else None),
    }
    if isinstance(event, CancelledEvent):
        stop_reason = event.reason
    if result is not None:
        values |= {
            "result": result.model_dump(mode="json"),
            "best_round": result.best_round,
            "final_score": result.score,
            "stop_reason": result.stop_reason,
            "total_cost_usd": result.total_cost_usd,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
        }
    else:
        values["stop_reason"] = stop_reason or ("failed" if status == "failed" else status)
    rounds = [
        _Round(*r)
        for r in (
            await session.execute(
                select(
                    RESPONSES.c.round,
                    RESPONSES.c.model,
                    RESPONSES.c.kind,
                    RESPONSES.c.score,
                    RESPONSES.c.latency_ms,
                    RESPONSES.c.cost_usd,
                )
                .where(RESPONSES.c.thread_id == thread_id)
                .order_by(RESPONSES.c.round)
            )
        )
    ]
    credited = _credited_model(result, rounds)
    if credited is not None:
        values["selected_model"] = credited
    await session.execute(update(THREADS).where(THREADS.c.id == thread_id).values(**values))
    threshold = (request or {}).get("threshold")
    final = values.get("final_score")
    if final is None:
        final = max((r.score for r in rounds if r.score is not None), default=None)
    await _record_outcome(session, thread_id, rounds, threshold, final)
    await _learn(session, thread_id, domain or "general", rounds, event.ts)


async def _record_outcome(
    session: AsyncSession,
    thread_id: str,
    rounds: list[_Round],
    threshold: float | None,
    final: float | None,
) -> None:
    reached = [
        r.round
        for r in rounds
        if threshold is not None and r.score is not None and r.score >= threshold
    ]
    escalations = [r.round for r in rounds if r.kind == "escalation"]
    kept: Any = True
    if escalations:
        kept = case((SELECTIONS.c.round >= max(escalations), True), else_=False)
    await session.execute(
        update(SELECTIONS)
        .where(SELECTIONS.c.thread_id == thread_id)
        .values(
            kept_without_escalation=kept,
            threshold_round=min(reached, default=None),
            final_score=final,
        )
    )


async def _performance_rows(
    session: AsyncSession, models: set[str], domain: str, ts: datetime
) -> dict[str, dict[str, Any]]:
    """The (model, domain) rows, created at zero where missing, locked for this transaction."""
    await session.execute(
        upsert(session, PERFORMANCE).on_conflict_do_nothing(index_elements=["model", "domain"]),
        [
            {
                "model": m,
                "domain": domain,
                "samples": 0,
                "mean_score": 0.0,
                "m2": 0.0,
                "successes": 0,
                "failures": 0,
                "mean_latency_ms": 0.0,
                "mean_cost_usd": 0.0,
                "updated_at": ts,
            }
            for m in sorted(models)
        ],
    )
    rows = await session.execute(
        select(PERFORMANCE)
        .where(PERFORMANCE.c.model.in_(sorted(models)), PERFORMANCE.c.domain == domain)
        .order_by(PERFORMANCE.c.model)
        .with_for_update()
    )
    return {r["model"]: dict(r) for r in rows.mappings()}


async def _learn(
    session: AsyncSession, thread_id: str, domain: str, rounds: list[_Round], ts: datetime
) -> None:
    calls = await session.execute(
        select(
            USAGE.c.model,
            func.sum(case((USAGE.c.success, 1), else_=0)),
            func.sum(case((USAGE.c.success, 0), else_=1)),
        )
        .where(USAGE.c.thread_id == thread_id)
        .group_by(USAGE.c.model)
    )
    outcomes = {model: (int(ok or 0), int(bad or 0)) for model, ok, bad in calls}
    scored = [r for r in rounds if r.score is not None]
    models = {r.model for r in scored} | set(outcomes)
    if not models:
        return
    rows = await _performance_rows(session, models, domain, ts)
    for r in scored:
        row = rows[r.model]
        assert r.score is not None
        row["samples"] += 1
        delta = r.score - row["mean_score"]
        row["mean_score"] += delta / row["samples"]
        row["m2"] += delta * (r.score - row["mean_score"])
        row["mean_latency_ms"] += (r.latency_ms - row["mean_latency_ms"]) / row["samples"]
        row["mean_cost_usd"] += (r.cost_usd - row["mean_cost_usd"]) / row["samples"]
    for model, (successes, failures) in outcomes.items():
        rows[model]["successes"] += successes
        rows[model]["failures"] += failures
    fields = ["samples", "mean_score", "m2", "successes", "failures"]
    fields += ["mean_latency_ms", "mean_cost_usd"]
    await session.execute(
        update(PERFORMANCE)
        .where(PERFORMANCE.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in (*fields, "updated_at")}),
        [
            {"b_id": row["id"], "b_updated_at": ts} | {f"b_{name}": row[name] for name in fields}
            for _, row in sorted(rows.items())
        ],
    )
