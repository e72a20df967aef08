"""Turns events into rows. Idempotent per (thread_id, seq): a replayed event is not written twice.

Every event except `response_chunk` is also kept in the event log for replay; chunks are not
stored at all (the `response` event carries the full text). When a run ends (completed, failed
or cancelled), the selection decisions get their outcome and `model_performance` learns from the
run's scored rounds and its calls (failed calls count as failures); see outcomes.py.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import (
    AnalysisEvent,
    CancelledEvent,
    CompletedEvent,
    EvaluationEvent,
    Event,
    FailedEvent,
    ModelCallEvent,
    ResponseEvent,
    SelectionEvent,
    StartedEvent,
)
from orchestratex.store.db import SessionFactory
from orchestratex.store.outcomes import finish_run
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

PREVIEW_CHARS = 200
LOCK_RETRIES = 6


def _is_lock_error(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


class StoreWriter:
    """Subscribe `handle` to the event bus; each event is written in its own transaction."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory
        self._lock = asyncio.Lock()

    async def handle(self, event: Event) -> None:
        if event.type == "response_chunk":
            return
        async with self._lock:
            for attempt in range(LOCK_RETRIES):
                try:
                    await self._write(event)
                    return
                except OperationalError as exc:
                    # SQLite refuses a write whose snapshot another connection has overtaken.
                    if not _is_lock_error(exc) or attempt == LOCK_RETRIES - 1:
                        raise
                    await asyncio.sleep(0.02 * 2**attempt)

    async def _write(self, event: Event) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await self._apply(session, event)
        except IntegrityError:
            # Another writer stored the same event first: that is the idempotent outcome.
            async with self._sessions() as session:
                if not await _logged(session, event.thread_id, event.seq):
                    raise

    async def _apply(self, session: AsyncSession, event: Event) -> None:
        if await _logged(session, event.thread_id, event.seq):
            return
        thread = await session.get(Thread, event.thread_id)
        if thread is None:
            thread = Thread(id=event.thread_id, status="running", created_at=event.ts)
            session.add(thread)
            await session.flush()
        session.add(
            EventRecord(
                thread_id=event.thread_id,
                seq=event.seq,
                type=event.type,
                payload=event.model_dump(mode="json"),
                created_at=event.ts,
            )
        )
        thread.last_seq = max(thread.last_seq or 0, event.seq)
        thread.updated_at = event.ts
        if isinstance(event, StartedEvent):
            await _started(session, thread, event)
        elif isinstance(event, AnalysisEvent):
            await _analysis(session, thread, event)
        elif isinstance(event, SelectionEvent):
            _selection(session, thread, event)
        elif isinstance(event, ModelCallEvent):
            _model_call(session, thread, event)
        elif isinstance(event, ResponseEvent):
            _response(session, event)
        elif isinstance(event, EvaluationEvent):
            await _evaluation(session, event)
        elif isinstance(event, CompletedEvent):
            await finish_run(session, thread, "completed", event.result, None, event.ts)
        elif isinstance(event, FailedEvent):
            await finish_run(session, thread, "failed", event.result, event.error, event.ts)
        elif isinstance(event, CancelledEvent):
            thread.stop_reason = event.reason
            await finish_run(session, thread, "cancelled", event.result, None, event.ts)


async def _logged(session: AsyncSession, thread_id: str, seq: int) -> bool:
    query = select(EventRecord.id).where(EventRecord.thread_id == thread_id, EventRecord.seq == seq)
    return (await session.scalar(query)) is not None


async def _started(session: AsyncSession, thread: Thread, event: StartedEvent) -> None:
    request = event.request
    if thread.status in ("queued", "running", "interrupted"):
        thread.status = "running"
    thread.user_id = event.user_id or thread.user_id
    thread.request = request.model_dump(mode="json")
    thread.prompt_preview = request.prompt[:PREVIEW_CHARS]
    existing = await session.scalar(select(Prompt).where(Prompt.thread_id == thread.id))
    if existing is None:
        session.add(Prompt(thread_id=thread.id, text=request.prompt, system=request.system))


async def _analysis(session: AsyncSession, thread: Thread, event: AnalysisEvent) -> None:
    analysis = event.analysis
    thread.domain = analysis.domain.value
    thread.complexity = analysis.complexity
    prompt = await session.scalar(select(Prompt).where(Prompt.thread_id == thread.id))
    if prompt is not None:
        prompt.analysis = analysis.model_dump(mode="json")
        prompt.domain = analysis.domain.value
        prompt.complexity = analysis.complexity


def _selection(session: AsyncSession, thread: Thread, event: SelectionEvent) -> None:
    decision = event.decision
    if thread.selected_model is None or event.round == 1:
        thread.selected_model = decision.model
    session.add(
        SelectionRecord(
            thread_id=thread.id,
            round=event.round,
            model=decision.model,
            strategy=decision.strategy,
            reasons=list(decision.reasons),
            candidates=[c.model_dump(mode="json") for c in decision.candidates],
            created_at=event.ts,
        )
    )


def _model_call(session: AsyncSession, thread: Thread, event: ModelCallEvent) -> None:
    thread.input_tokens = (thread.input_tokens or 0) + event.usage.input_tokens
    thread.output_tokens = (thread.output_tokens or 0) + event.usage.output_tokens
    thread.total_cost_usd = (thread.total_cost_usd or 0.0) + event.cost_usd
    session.add(
        UsageRecord(
            thread_id=thread.id,
            user_id=thread.user_id,
            round=event.round,
            model=event.model,
            provider=event.provider,
            purpose=event.purpose,
            input_tokens=event.usage.input_tokens,
            output_tokens=event.usage.output_tokens,
            cost_usd=event.cost_usd,
            cost_known=event.cost_known,
            latency_ms=event.latency_ms,
            success=event.success,
            error=event.error,
            created_at=event.ts,
        )
    )


def _response(session: AsyncSession, event: ResponseEvent) -> None:
    session.add(
        Response(
            thread_id=event.thread_id,
            round=event.round,
            model=event.model,
            kind=event.kind,
            text=event.text,
            input_tokens=event.usage.input_tokens,
            output_tokens=event.usage.output_tokens,
            cost_usd=event.cost_usd,
            latency_ms=event.latency_ms,
            finish_reason=event.finish_reason,
            created_at=event.ts,
        )
    )


async def _evaluation(session: AsyncSession, event: EvaluationEvent) -> None:
    response = await session.scalar(
        select(Response).where(Response.thread_id == event.thread_id, Response.round == event.round)
    )
    if response is not None:
        response.score = event.score
    for verdict in event.verdicts:
        rubric = verdict.score
        row = Evaluation(
            response_id=response.id if response is not None else None,
            thread_id=event.thread_id,
            round=event.round,
            judge=verdict.judge,
            accuracy=rubric.accuracy if rubric else None,
            completeness=rubric.completeness if rubric else None,
            clarity=rubric.clarity if rubric else None,
            relevance=rubric.relevance if rubric else None,
            overall=rubric.overall if rubric else None,
            weight=verdict.weight,
            error=verdict.error,
            cost_usd=verdict.cost_usd,
            latency_ms=verdict.latency_ms,
            created_at=event.ts,
        )
        session.add(row)
        if rubric is None:
            continue
        await session.flush()
        session.add(
            Criticism(
                evaluation_id=row.id,
                thread_id=event.thread_id,
                round=event.round,
                judge=verdict.judge,
                critique=rubric.critique,
                suggestions=list(rubric.suggestions),
                created_at=event.ts,
            )
        )
