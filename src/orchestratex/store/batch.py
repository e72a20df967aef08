"""One batch of events becomes rows in one transaction, with a handful of multi-row statements.

Every event goes to the event log (response chunks included), idempotently per (thread_id,
seq): `INSERT ... ON CONFLICT DO NOTHING RETURNING` tells which events are new, and only those
derive rows (rounds.py); a run the batch holds whole from its start to its end, unjudged,
is written directly instead (whole_runs.py). Thread counters move by deltas
(`x = x + :delta`), so two writers of the same thread never overwrite each other. A terminal
event closes the run (outcomes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, case, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import (
    CancelledEvent,
    CompletedEvent,
    Event,
    FailedEvent,
    ModelCallEvent,
)
from orchestratex.store import rounds, whole_runs
from orchestratex.store.outcomes import finish_runs
from orchestratex.store.sql import EVENTS, THREADS, upsert


@dataclass
class _Delta:
    """What a batch adds to one thread's counters."""

    last_seq: int
    updated_at: datetime
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


def _unique(events: Sequence[Event]) -> list[Event]:
    """The batch without repeats of a (thread_id, seq), ordered by thread and seq (lock order)."""
    seen: dict[tuple[str, int], Event] = {}
    for event in events:
        seen.setdefault((event.thread_id, event.seq), event)
    return [seen[key] for key in sorted(seen)]


async def _ensure_threads(session: AsyncSession, events: list[Event]) -> None:
    first: dict[str, datetime] = {}
    for event in events:
        first.setdefault(event.thread_id, event.ts)
    rows = [
        {"id": thread_id, "status": "running", "created_at": ts, "updated_at": ts}
        for thread_id, ts in first.items()
    ]
    statement = upsert(session, THREADS).on_conflict_do_nothing(index_elements=["id"])
    await session.execute(statement, rows)


async def _log(session: AsyncSession, events: list[Event]) -> list[Event]:
    """Append the events to the log; returns those that were not there yet."""
    rows = [
        {
            "thread_id": e.thread_id,
            "seq": e.seq,
            "type": e.type,
            "payload": e.model_dump(mode="json"),
            "created_at": e.ts,
        }
        for e in events
    ]
    statement = (
        upsert(session, EVENTS)
        .on_conflict_do_nothing(index_elements=["thread_id", "seq"])
        .returning(EVENTS.c.thread_id, EVENTS.c.seq)
    )
    inserted = {(t, s) for t, s in (await session.execute(statement, rows)).all()}
    return [e for e in events if (e.thread_id, e.seq) in inserted]


async def _move_counters(session: AsyncSession, fresh: list[Event]) -> None:
    deltas: dict[str, _Delta] = {}
    for event in fresh:
        delta = deltas.setdefault(event.thread_id, _Delta(event.seq, event.ts))
        delta.last_seq = max(delta.last_seq, event.seq)
        delta.updated_at = max(delta.updated_at, event.ts)
        if isinstance(event, ModelCallEvent):
            delta.input_tokens += event.usage.input_tokens
            delta.output_tokens += event.usage.output_tokens
            delta.cost_usd += event.cost_usd
    new_seq = bindparam("b_seq", type_=Integer)
    statement = (
        update(THREADS)
        .where(THREADS.c.id == bindparam("b_id"))
        .values(
            last_seq=case((THREADS.c.last_seq < new_seq, new_seq), else_=THREADS.c.last_seq),
            updated_at=bindparam("b_ts"),
            input_tokens=THREADS.c.input_tokens + bindparam("b_in"),
            output_tokens=THREADS.c.output_tokens + bindparam("b_out"),
            total_cost_usd=THREADS.c.total_cost_usd + bindparam("b_cost"),
        )
    )
    params: list[dict[str, Any]] = [
        {
            "b_id": thread_id,
            "b_seq": d.last_seq,
            "b_ts": d.updated_at,
            "b_in": d.input_tokens,
            "b_out": d.output_tokens,
            "b_cost": d.cost_usd,
        }
        for thread_id, d in sorted(deltas.items())
    ]
    await session.execute(statement, params)


async def apply_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    """Write the events and everything derived from them; returns the newly written events.

    The caller owns the transaction (and commits it).
    """
    whole, batch = whole_runs.split(_unique(events))
    stored, taken = await whole_runs.write(session, whole)
    batch = sorted([*batch, *taken], key=lambda e: (e.thread_id, e.seq))
    if not batch:
        return stored
    await _ensure_threads(session, batch)
    fresh = await _log(session, batch)
    if not fresh:
        return stored
    await rounds.derive(session, fresh)
    await _move_counters(session, fresh)
    await finish_runs(
        session, [e for e in fresh if isinstance(e, CompletedEvent | FailedEvent | CancelledEvent)]
    )
    return stored + fresh
