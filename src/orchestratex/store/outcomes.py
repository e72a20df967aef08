"""What a run's end teaches, in one place: the thread's result and credit, selection outcomes,
model performance and judge reliability. Called once per run, in the transaction that stores
its terminal event, so a run is learned from exactly once, whichever process wrote it.

Credit: a thread's model (`threads.selected_model`, shown in history and the run summary) is
the model of its best round, the one whose score won; not the model selected first.
Selection outcomes: `decision_kept` is the one rule of whether a decision was kept (selection
accuracy); `whole_runs.py` applies it too.
Learning: each scored round is a sample of its model's quality in the run's domain; each
`model_call` (usage row) is a success or a failure of its model; each evaluation with two
scored verdicts or more adds each judge's agreement with the others to the judge's record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, case, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import CancelledEvent, CompletedEvent, FailedEvent
from orchestratex.core.orchestration import OrchestrationResult
from orchestratex.core.performance import agreements
from orchestratex.store.sql import (
    EVALUATIONS,
    JUDGES,
    PERFORMANCE,
    RESPONSES,
    SELECTIONS,
    THREADS,
    USAGE,
    upsert,
)

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
    """Close one run (see finish_runs)."""
    await finish_runs(session, [event])


async def _stored_rounds(session: AsyncSession, thread_ids: list[str]) -> dict[str, list[_Round]]:
    rows = await session.execute(
        select(
            RESPONSES.c.thread_id,
            RESPONSES.c.round,
            RESPONSES.c.model,
            RESPONSES.c.kind,
            RESPONSES.c.score,
            RESPONSES.c.latency_ms,
            RESPONSES.c.cost_usd,
        )
        .where(RESPONSES.c.thread_id.in_(thread_ids))
        .order_by(RESPONSES.c.thread_id, RESPONSES.c.round)
    )
    rounds: dict[str, list[_Round]] = {t: [] for t in thread_ids}
    for thread_id, *values in rows:
        rounds[thread_id].append(_Round(*values))
    return rounds


def _closing_values(
    event: Terminal, stop_reason: str | None, credited: str | None
) -> dict[str, Any]:
    """The thread's final columns, as `b_<column>` parameters."""
    result = event.result
    error = event.error if isinstance(event, FailedEvent) else None
    if isinstance(event, CancelledEvent):
        stop_reason = event.reason
    values: dict[str, Any] = {
        "b_id": event.thread_id,
        "b_status": event.type,
        "b_completed_at": event.ts,
        "b_error": error or (result.error if result else None),
        "b_selected_model": credited,
    }
    if result is None:
        values["b_stop_reason"] = stop_reason or (
            "failed" if event.type == "failed" else event.type
        )
        return values
    return values | {
        "b_result": result.model_dump(mode="json"),
        "b_best_round": result.best_round,
        "b_final_score": result.score,
        "b_stop_reason": result.stop_reason,
        "b_total_cost_usd": result.total_cost_usd,
        "b_input_tokens": result.usage.input_tokens,
        "b_output_tokens": result.usage.output_tokens,
    }


async def _close_threads(session: AsyncSession, closing: list[dict[str, Any]]) -> None:
    """Two UPDATEs at most, each for many threads: runs that ended with a result, and not."""
    for with_result in (True, False):
        rows = [v for v in closing if ("b_result" in v) is with_result]
        if not rows:
            continue
        columns: dict[str, Any] = {
            k[2:]: bindparam(k) for k in rows[0] if k not in ("b_id", "b_selected_model")
        }
        if with_result:
            columns["result"] = bindparam("b_result", type_=JSON(none_as_null=True))
        columns["selected_model"] = func.coalesce(
            bindparam("b_selected_model"), THREADS.c.selected_model
        )
        await session.execute(
            update(THREADS).where(THREADS.c.id == bindparam("b_id")).values(columns), rows
        )


async def finish_runs(session: AsyncSession, events: list[Terminal]) -> None:
    """Close these runs: status, result, credit to the best round, selection outcomes, learning.

    A handful of statements however many runs end in the batch.
    """
    if not events:
        return
    ids = sorted({e.thread_id for e in events})
    threads = {
        thread_id: (request, domain, stop_reason)
        for thread_id, request, domain, stop_reason in await session.execute(
            select(THREADS.c.id, THREADS.c.request, THREADS.c.domain, THREADS.c.stop_reason).where(
                THREADS.c.id.in_(ids)
            )
        )
    }
    rounds = await _stored_rounds(session, ids)
    closing = [
        _closing_values(e, threads[e.thread_id][2], _credited_model(e.result, rounds[e.thread_id]))
        for e in events
    ]
    await _close_threads(session, closing)
    outcomes: dict[str, _Outcome] = {}
    for event, values in zip(events, closing, strict=True):
        thread_id = values["b_id"]
        thread_rounds = rounds[thread_id]
        final = values.get("b_final_score")
        if final is None:
            final = max((r.score for r in thread_rounds if r.score is not None), default=None)
        threshold = (threads[thread_id][0] or {}).get("threshold")
        outcomes[thread_id] = _outcome(event, thread_rounds, threshold, final)
    await _score_decisions(session, outcomes)
    domains = {t: (threads[t][1] or "general") for t in ids}
    await _learn(session, domains, rounds, events[-1].ts)
    await _learn_judges(session, ids, events[-1].ts)


def decision_kept(
    decision_round: int,
    model: str,
    *,
    failed: bool,
    answered: Mapping[int, str],
    escalated: int,
) -> bool | None:
    """Whether a selection decision was kept: the one rule behind selection accuracy.

    Kept: its run did not fail, its model gave its round's answer (`answered`: round -> the
    model of the answer that stood), and no escalation came after its round (`escalated`: the
    last escalation round, 0 for none). A decision whose model failed, its call erred and
    another model answered in its place, is not kept; nor is any decision of a failed run.
    None (not counted): a run that did not fail but ended before its round was answered.
    """
    if failed:
        return False
    by = answered.get(decision_round)
    if by is None:
        return None
    return by == model and decision_round >= escalated


@dataclass(frozen=True)
class _Outcome:
    failed: bool
    answered: dict[int, str]
    escalated: int
    reached: int | None
    final: float | None


def _outcome(
    event: Terminal, rounds: list[_Round], threshold: float | None, final: float | None
) -> _Outcome:
    reached = [
        r.round
        for r in rounds
        if threshold is not None and r.score is not None and r.score >= threshold
    ]
    escalations = [r.round for r in rounds if r.kind == "escalation"]
    return _Outcome(
        failed=event.type == "failed",
        answered={r.round: r.model for r in rounds},
        escalated=max(escalations, default=0),
        reached=min(reached, default=None),
        final=final,
    )


async def _score_decisions(session: AsyncSession, outcomes: dict[str, _Outcome]) -> None:
    """Each selection decision of these runs: kept or not, threshold round, final score."""
    decisions = await session.execute(
        select(SELECTIONS.c.id, SELECTIONS.c.thread_id, SELECTIONS.c.round, SELECTIONS.c.model)
        .where(SELECTIONS.c.thread_id.in_(sorted(outcomes)))
        .order_by(SELECTIONS.c.id)
    )
    rows = []
    for decision_id, thread_id, decision_round, model in decisions:
        o = outcomes[thread_id]
        kept = decision_kept(
            decision_round, model, failed=o.failed, answered=o.answered, escalated=o.escalated
        )
        rows.append(
            {"b_sid": decision_id, "b_kept": kept, "b_reached": o.reached, "b_final": o.final}
        )
    if not rows:
        return
    await session.execute(
        update(SELECTIONS)
        .where(SELECTIONS.c.id == bindparam("b_sid"))
        .values(
            kept_without_escalation=bindparam("b_kept"),
            threshold_round=bindparam("b_reached"),
            final_score=bindparam("b_final"),
        ),
        rows,
    )


async def _performance_rows(
    session: AsyncSession, keys: set[tuple[str, str]], ts: datetime
) -> dict[tuple[str, str], dict[str, Any]]:
    """The (model, domain) rows, created at zero where missing, locked for this transaction."""
    await session.execute(
        upsert(session, PERFORMANCE).on_conflict_do_nothing(index_elements=["model", "domain"]),
        [
            {
                "model": model,
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
            for model, domain in sorted(keys)
        ],
    )
    rows = await session.execute(
        select(PERFORMANCE)
        .where(tuple_(PERFORMANCE.c.model, PERFORMANCE.c.domain).in_(sorted(keys)))
        .order_by(PERFORMANCE.c.model, PERFORMANCE.c.domain)
        .with_for_update()
    )
    return {(r["model"], r["domain"]): dict(r) for r in rows.mappings()}


def _add_sample(row: dict[str, Any], r: _Round, score: float) -> None:
    """Welford's update of the running mean and m2, plus running latency and cost."""
    row["samples"] += 1
    delta = score - row["mean_score"]
    row["mean_score"] += delta / row["samples"]
    row["m2"] += delta * (score - row["mean_score"])
    row["mean_latency_ms"] += (r.latency_ms - row["mean_latency_ms"]) / row["samples"]
    row["mean_cost_usd"] += (r.cost_usd - row["mean_cost_usd"]) / row["samples"]


async def _learn(
    session: AsyncSession,
    domains: dict[str, str],
    rounds: dict[str, list[_Round]],
    ts: datetime,
) -> None:
    """Each scored round is a sample of its model; each usage row a success or a failure."""
    calls = await session.execute(
        select(
            USAGE.c.thread_id,
            USAGE.c.model,
            func.sum(case((USAGE.c.success, 1), else_=0)),
            func.sum(case((USAGE.c.success, 0), else_=1)),
        )
        .where(USAGE.c.thread_id.in_(sorted(domains)))
        .group_by(USAGE.c.thread_id, USAGE.c.model)
    )
    outcomes = [(domains[t], model, int(ok or 0), int(bad or 0)) for t, model, ok, bad in calls]
    scored = [(domains[t], r) for t in sorted(domains) for r in rounds[t] if r.score is not None]
    keys = {(r.model, domain) for domain, r in scored}
    keys |= {(model, domain) for domain, model, _, _ in outcomes}
    if not keys:
        return
    rows = await _performance_rows(session, keys, ts)
    for domain, r in scored:
        _add_sample(rows[(r.model, domain)], r, r.score or 0.0)
    for domain, model, successes, failures in outcomes:
        rows[(model, domain)]["successes"] += successes
        rows[(model, domain)]["failures"] += failures
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


async def _learn_judges(session: AsyncSession, thread_ids: list[str], ts: datetime) -> None:
    """Each evaluation of these runs adds its judges' agreements to their records."""
    rows = await session.execute(
        select(EVALUATIONS.c.thread_id, EVALUATIONS.c.round, EVALUATIONS.c.judge)
        .add_columns(EVALUATIONS.c.overall)
        .where(EVALUATIONS.c.thread_id.in_(thread_ids), EVALUATIONS.c.overall.is_not(None))
        .order_by(EVALUATIONS.c.thread_id, EVALUATIONS.c.round, EVALUATIONS.c.id)
    )
    evaluations: dict[tuple[str, int], list[tuple[str, float]]] = {}
    for thread_id, round_, judge, overall in rows:
        evaluations.setdefault((thread_id, round_), []).append((judge, float(overall)))
    learned: dict[str, tuple[int, float]] = {}
    for scored in evaluations.values():
        for judge, agreement in agreements(scored):
            n, total = learned.get(judge, (0, 0.0))
            learned[judge] = (n + 1, total + agreement)
    if not learned:
        return
    judges = sorted(learned)
    await session.execute(
        upsert(session, JUDGES).on_conflict_do_nothing(index_elements=["judge"]),
        [{"judge": j, "verdicts": 0, "agreement_sum": 0.0, "updated_at": ts} for j in judges],
    )
    await session.execute(
        update(JUDGES)
        .where(JUDGES.c.judge == bindparam("b_judge"))
        .values(
            verdicts=JUDGES.c.verdicts + bindparam("b_verdicts"),
            agreement_sum=JUDGES.c.agreement_sum + bindparam("b_sum"),
            updated_at=bindparam("b_ts"),
        ),
        [
            {"b_judge": j, "b_verdicts": learned[j][0], "b_sum": learned[j][1], "b_ts": ts}
            for j in judges
        ],
    )
