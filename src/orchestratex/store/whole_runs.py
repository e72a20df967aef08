"""Runs that a batch holds whole: their rows written directly, nothing read back.

A run is whole in a batch when the batch holds every one of its events, from its `started`
(seq 1) to its `completed` or `failed`, without a gap, in one round that no judge scored: a
passthrough (a named model, one upstream call). Everything its rows hold is then known from
its events, so there is nothing to derive from stored rows (rounds.py) nor to recompute at its
end (outcomes.py): its thread is inserted finished, and its prompt, selections, usage rows,
answer and event log go in with the other whole runs of the batch, one multi-row INSERT per
table; the model's success and failure counts move by one upsert per (model, domain).

The rows are those the general path writes for the same events (tests/store checks both paths
against each other). A thread whose row already exists (submitted durable, or partly stored by
an earlier batch) is not whole here: its events go the general way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import (
    AnalysisEvent,
    CompletedEvent,
    EvaluationEvent,
    Event,
    FailedEvent,
    ModelCallEvent,
    ResponseChunkEvent,
    ResponseEvent,
    SelectionEvent,
    StartedEvent,
)
from orchestratex.core.orchestration import CANDIDATES
from orchestratex.store.outcomes import decision_kept
from orchestratex.store.rounds import response_row, usage_row
from orchestratex.store.sql import (
    EVENTS,
    PERFORMANCE,
    PROMPTS,
    RESPONSES,
    SELECTIONS,
    THREADS,
    USAGE,
    json_text,
    upsert,
)

PREVIEW_CHARS = 200
_ALLOWED = (
    StartedEvent,
    AnalysisEvent,
    SelectionEvent,
    ResponseChunkEvent,
    ModelCallEvent,
    ResponseEvent,
    EvaluationEvent,
    CompletedEvent,
    FailedEvent,
)


@dataclass
class WholeRun:
    """The events of one run, all in one batch."""

    events: list[Event]

    @property
    def thread_id(self) -> str:
        return self.events[0].thread_id


def _is_whole(events: list[Event]) -> bool:
    if not isinstance(events[0], StartedEvent) or events[0].seq != 1:
        return False
    if not isinstance(events[-1], CompletedEvent | FailedEvent):
        return False
    responses = 0
    for index, event in enumerate(events, start=1):
        if event.seq != index or not isinstance(event, _ALLOWED):
            return False
        if isinstance(event, StartedEvent | CompletedEvent | FailedEvent) and 1 < index < len(
            events
        ):
            return False
        if isinstance(event, EvaluationEvent) and (event.verdicts or event.score is not None):
            return False
        if isinstance(event, ResponseEvent):
            responses += 1
            if event.round != 1 or responses > 1:
                return False
        if isinstance(event, SelectionEvent | ModelCallEvent | ResponseChunkEvent) and (
            event.round != 1
        ):
            return False
    return True


def split(batch: Sequence[Event]) -> tuple[list[WholeRun], list[Event]]:
    """The whole runs of a batch (of unique events ordered by thread and seq), and the rest."""
    by_thread: dict[str, list[Event]] = {}
    for event in batch:
        by_thread.setdefault(event.thread_id, []).append(event)
    whole: list[WholeRun] = []
    rest: list[Event] = []
    for events in by_thread.values():
        if _is_whole(events):
            whole.append(WholeRun(events))
        else:
            rest.extend(events)
    return whole, rest


def _log_rows(runs: list[WholeRun]) -> list[dict[str, Any]]:
    return [
        {
            "thread_id": e.thread_id,
            "seq": e.seq,
            "type": e.type,
            "payload": e.model_dump_json(),
            "created_at": e.ts,
        }
        for run in runs
        for e in run.events
    ]


def _thread_row(run: WholeRun) -> dict[str, Any]:
    events = run.events
    started = events[0]
    end = events[-1]
    assert isinstance(started, StartedEvent) and isinstance(end, CompletedEvent | FailedEvent)
    analysis = next((e.analysis for e in events if isinstance(e, AnalysisEvent)), None)
    calls = [e for e in events if isinstance(e, ModelCallEvent)]
    picked = [e.decision.model for e in events if isinstance(e, SelectionEvent)]
    result = end.result
    credited = None
    if result is not None and result.best_round is not None:
        credited = next((r.model for r in result.rounds if r.round == result.best_round), None)
    error = end.error if isinstance(end, FailedEvent) else None
    row: dict[str, Any] = {
        "id": started.thread_id,
        "user_id": started.user_id,
        "status": end.type,
        "prompt_preview": started.request.prompt[:PREVIEW_CHARS],
        "domain": analysis.domain.value if analysis is not None else None,
        "complexity": analysis.complexity if analysis is not None else None,
        "selected_model": credited or (picked[-1] if picked else None),
        "best_round": None,
        "final_score": None,
        "stop_reason": "failed",
        "total_cost_usd": sum(c.cost_usd for c in calls),
        "input_tokens": sum(c.usage.input_tokens for c in calls),
        "output_tokens": sum(c.usage.output_tokens for c in calls),
        "error": error or (result.error if result is not None else None),
        "request": started.request.model_dump_json(),
        "result": result.model_dump_json() if result is not None else None,
        "created_at": started.ts,
        "updated_at": max(e.ts for e in events),
        "completed_at": end.ts,
        "last_seq": end.seq,
        "runner_id": None,
        "heartbeat_at": None,
    }
    if result is not None:
        row |= {
            "best_round": result.best_round,
            "final_score": result.score,
            "stop_reason": result.stop_reason,
            "total_cost_usd": result.total_cost_usd,
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
        }
    return row


def _rows(runs: list[WholeRun]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {"prompts": [], "selections": [], "usage": []}
    rows["responses"] = []
    for run in runs:
        started = run.events[0]
        assert isinstance(started, StartedEvent)
        analysis = next((e.analysis for e in run.events if isinstance(e, AnalysisEvent)), None)
        rows["prompts"].append(
            {
                "thread_id": run.thread_id,
                "text": started.request.prompt,
                "system": started.request.system,
                "analysis": analysis.model_dump_json() if analysis is not None else None,
                "domain": analysis.domain.value if analysis is not None else None,
                "complexity": analysis.complexity if analysis is not None else None,
            }
        )
        end = run.events[-1]
        final = (
            end.result.score
            if isinstance(end, CompletedEvent | FailedEvent) and end.result
            else None
        )
        answered = {e.round: e.model for e in run.events if isinstance(e, ResponseEvent)}
        failed = isinstance(end, FailedEvent)
        for e in run.events:
            if isinstance(e, SelectionEvent):
                kept = decision_kept(
                    e.round, e.decision.model, failed=failed, answered=answered, escalated=0
                )
                rows["selections"].append(
                    {
                        "thread_id": e.thread_id,
                        "round": e.round,
                        "model": e.decision.model,
                        "strategy": e.decision.strategy,
                        "reasons": json.dumps(e.decision.reasons),
                        "candidates": CANDIDATES.dump_json(e.decision.candidates).decode(),
                        "kept_without_escalation": kept,
                        "threshold_round": None,
                        "final_score": final,
                        "created_at": e.ts,
                    }
                )
            elif isinstance(e, ModelCallEvent):
                rows["usage"].append(usage_row(e, started.user_id))
            elif isinstance(e, ResponseEvent):
                rows["responses"].append(response_row(e))
    return rows


async def _count_calls(session: AsyncSession, runs: list[WholeRun]) -> None:
    """Each usage row a success or a failure of its model in the run's domain."""
    counts: Counter[tuple[str, str, bool]] = Counter()
    latest = max(run.events[-1].ts for run in runs)
    for run in runs:
        analysis = next((e.analysis for e in run.events if isinstance(e, AnalysisEvent)), None)
        domain = analysis.domain.value if analysis is not None else "general"
        for e in run.events:
            if isinstance(e, ModelCallEvent):
                counts[(e.model, domain, e.success)] += 1
    keys = sorted({(model, domain) for model, domain, _ in counts})
    if not keys:
        return
    rows = [
        {
            "model": model,
            "domain": domain,
            "samples": 0,
            "mean_score": 0.0,
            "m2": 0.0,
            "successes": counts[(model, domain, True)],
            "failures": counts[(model, domain, False)],
            "mean_latency_ms": 0.0,
            "mean_cost_usd": 0.0,
            "updated_at": latest,
        }
        for model, domain in keys
    ]
    statement = upsert(session, PERFORMANCE)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["model", "domain"],
            set_={
                "successes": PERFORMANCE.c.successes + statement.excluded.successes,
                "failures": PERFORMANCE.c.failures + statement.excluded.failures,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        rows,
    )


async def write(session: AsyncSession, runs: list[WholeRun]) -> tuple[list[Event], list[Event]]:
    """Write the whole runs; returns (their events now stored, the events of runs whose thread
    row already existed, for the general path)."""
    if not runs:
        return [], []
    log = _log_rows(runs)
    statement = (
        upsert(session, THREADS)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(THREADS.c.id)
    )
    statement = statement.values(request=json_text("request"), result=json_text("result"))
    inserted = set((await session.execute(statement, [_thread_row(r) for r in runs])).scalars())
    fresh = [r for r in runs if r.thread_id in inserted]
    taken = [e for r in runs if r.thread_id not in inserted for e in r.events]
    if not fresh:
        return [], taken
    if len(fresh) < len(runs):
        log = [row for row in log if row["thread_id"] in inserted]
    await session.execute(EVENTS.insert().values(payload=json_text("payload")), log)
    rows = _rows(fresh)
    await session.execute(PROMPTS.insert().values(analysis=json_text("analysis")), rows["prompts"])
    if rows["selections"]:
        raw = {"reasons": json_text("reasons"), "candidates": json_text("candidates")}
        await session.execute(SELECTIONS.insert().values(raw), rows["selections"])
    for table, name in ((USAGE, "usage"), (RESPONSES, "responses")):
        if rows[name]:
            await session.execute(table.insert(), rows[name])
    await _count_calls(session, fresh)
    return [e for r in fresh for e in r.events], taken
