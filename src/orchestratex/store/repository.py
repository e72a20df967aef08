"""Keyword-only data access for threads, events and users. Write functions commit."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.events import EVENT_ADAPTER, Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.store.tables import (
    ACTIVE_STATUSES,
    USER_NAME_CHARS,
    Criticism,
    Evaluation,
    EventRecord,
    Prompt,
    Response,
    SelectionRecord,
    Thread,
    UsageRecord,
    User,
    utc_now,
)
from orchestratex.store.views import (
    CostLine,
    DecisionDetail,
    EvaluationDetail,
    RoundDetail,
    ThreadDetail,
    ThreadPage,
    ThreadSummary,
    UserRecord,
)

API_KEY_PREFIX = "orx_"
PREVIEW_CHARS = 200


def hash_api_key(api_key: str) -> str:
    """SHA-256 of the key: keys are long random strings, so a fast hash is enough."""
    return hashlib.sha256(api_key.encode()).hexdigest()


async def create_user(
    *, session: AsyncSession, name: str, is_admin: bool = False, budget_usd: float | None = None
) -> tuple[UserRecord, str]:
    """Create a user; returns the record and the API key, which is shown only this once.

    A name longer than the column holds is refused here, the same on every backend
    (SQLite would keep it whole, PostgreSQL would fail the insert)."""
    if len(name) > USER_NAME_CHARS:
        raise ValueError(f"a user name has at most {USER_NAME_CHARS} characters")
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    user = User(
        id=uuid.uuid4().hex,
        name=name,
        api_key_hash=hash_api_key(api_key),
        api_key_prefix=api_key[:12],
        is_admin=is_admin,
        budget_usd=budget_usd,
        created_at=utc_now(),
    )
    session.add(user)
    await session.commit()
    return UserRecord.model_validate(user), api_key


async def get_user(*, session: AsyncSession, user_id: str) -> UserRecord | None:
    user = await session.get(User, user_id)
    return UserRecord.model_validate(user) if user else None


async def get_user_by_api_key(*, session: AsyncSession, api_key: str) -> UserRecord | None:
    user = await session.scalar(select(User).where(User.api_key_hash == hash_api_key(api_key)))
    return UserRecord.model_validate(user) if user else None


async def list_users(*, session: AsyncSession) -> list[UserRecord]:
    users = await session.scalars(select(User).order_by(User.created_at, User.id))
    return [UserRecord.model_validate(u) for u in users]


async def rotate_api_key(*, session: AsyncSession, user_id: str) -> str | None:
    """Give the user a new API key (the old one stops working); None if no such user."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    user.api_key_hash = hash_api_key(api_key)
    user.api_key_prefix = api_key[:12]
    await session.commit()
    return api_key


async def create_thread(
    *,
    session: AsyncSession,
    thread_id: str,
    request: OrchestrationRequest,
    user_id: str | None = None,
    runner_id: str | None = None,
) -> ThreadSummary:
    """Record a queued run before it starts (the writer fills it in from its events).

    `runner_id` names the process that will run it, whose lease starts now; None while queued.
    """
    now = utc_now()
    thread = Thread(
        id=thread_id,
        user_id=user_id,
        status="queued",
        prompt_preview=request.prompt[:PREVIEW_CHARS],
        request=request.model_dump(mode="json"),
        total_cost_usd=0.0,
        input_tokens=0,
        output_tokens=0,
        created_at=now,
        updated_at=now,
        last_seq=0,
        runner_id=runner_id,
        heartbeat_at=now if runner_id is not None else None,
    )
    session.add(thread)
    await session.flush()
    session.add(Prompt(thread_id=thread_id, text=request.prompt, system=request.system))
    await session.commit()
    return ThreadSummary.model_validate(thread)


def _visible(user_id: str | None, is_admin: bool) -> ColumnElement[bool]:
    if is_admin:
        return true()
    if user_id is None:
        return Thread.user_id.is_(None)
    return Thread.user_id == user_id


async def get_thread(
    *, session: AsyncSession, thread_id: str, user_id: str | None = None, is_admin: bool = True
) -> ThreadSummary | None:
    """The thread, if it exists and the caller may see it (admins see every thread)."""
    thread = await session.scalar(
        select(Thread).where(Thread.id == thread_id, _visible(user_id, is_admin))
    )
    return ThreadSummary.model_validate(thread) if thread else None


async def list_threads(
    *,
    session: AsyncSession,
    user_id: str | None,
    is_admin: bool = False,
    search: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ThreadPage:
    """Newest first. `search` matches the prompt text, case-insensitively."""
    conditions: list[ColumnElement[bool]] = [_visible(user_id, is_admin)]
    if status:
        conditions.append(Thread.status == status)
    if search:
        matching = select(Prompt.thread_id).where(Prompt.text.icontains(search, autoescape=True))
        conditions.append(Thread.id.in_(matching))
    total = await session.scalar(select(func.count()).select_from(Thread).where(*conditions))
    rows = await session.scalars(
        select(Thread)
        .where(*conditions)
        .order_by(Thread.created_at.desc(), Thread.id)
        .limit(limit)
        .offset(offset)
    )
    return ThreadPage(
        items=[ThreadSummary.model_validate(t) for t in rows],
        total=int(total or 0),
        limit=limit,
        offset=offset,
    )


async def get_thread_detail(
    *, session: AsyncSession, thread_id: str, user_id: str | None = None, is_admin: bool = True
) -> ThreadDetail | None:
    """Everything about one run: rounds with their judges' scores and critiques, decisions, cost."""
    thread = await session.scalar(
        select(Thread).where(Thread.id == thread_id, _visible(user_id, is_admin))
    )
    if thread is None:
        return None
    prompt = await session.scalar(select(Prompt).where(Prompt.thread_id == thread_id))
    critiques = {
        c.evaluation_id: c
        for c in await session.scalars(select(Criticism).where(Criticism.thread_id == thread_id))
    }
    by_round: dict[int, list[EvaluationDetail]] = {}
    judging: dict[int, list[float]] = {}
    evaluations = await session.scalars(
        select(Evaluation).where(Evaluation.thread_id == thread_id).order_by(Evaluation.id)
    )
    for ev in evaluations:
        critique = critiques.get(ev.id)
        judging.setdefault(ev.round, []).append(ev.cost_usd)
        by_round.setdefault(ev.round, []).append(
            EvaluationDetail(
                judge=ev.judge,
                accuracy=ev.accuracy,
                completeness=ev.completeness,
                clarity=ev.clarity,
                relevance=ev.relevance,
                overall=ev.overall,
                weight=ev.weight,
                error=ev.error,
                critique=critique.critique if critique else None,
                suggestions=[str(s) for s in critique.suggestions] if critique else [],
            )
        )
    responses = await session.scalars(
        select(Response).where(Response.thread_id == thread_id).order_by(Response.round)
    )
    rounds = [
        RoundDetail(
            round=r.round,
            model=r.model,
            kind=r.kind,
            text=r.text,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cost_usd=r.cost_usd + sum(judging.get(r.round, [])),
            answer_cost_usd=r.cost_usd,
            latency_ms=r.latency_ms,
            finish_reason=r.finish_reason,
            score=r.score,
            evaluations=by_round.get(r.round, []),
        )
        for r in responses
    ]
    decisions = await session.scalars(
        select(SelectionRecord)
        .where(SelectionRecord.thread_id == thread_id)
        .order_by(SelectionRecord.round, SelectionRecord.id)
    )
    improvements = await session.scalars(
        select(EventRecord.payload)
        .where(EventRecord.thread_id == thread_id, EventRecord.type == "improvement")
        .order_by(EventRecord.seq)
    )
    return ThreadDetail(
        thread=ThreadSummary.model_validate(thread),
        prompt=prompt.text if prompt else None,
        system=prompt.system if prompt else None,
        analysis=prompt.analysis if prompt else None,
        request=thread.request,
        result=thread.result,
        rounds=rounds,
        decisions=[DecisionDetail.model_validate(d) for d in decisions],
        improvements=[dict(p) for p in improvements],
        costs=await _cost_lines(session, thread_id),
    )


async def _cost_lines(session: AsyncSession, thread_id: str) -> list[CostLine]:
    rows = await session.execute(
        select(
            UsageRecord.model,
            UsageRecord.purpose,
            func.count(),
            func.coalesce(func.sum(UsageRecord.input_tokens), 0),
            func.coalesce(func.sum(UsageRecord.output_tokens), 0),
            func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
        )
        .where(UsageRecord.thread_id == thread_id)
        .group_by(UsageRecord.model, UsageRecord.purpose)
        .order_by(UsageRecord.model, UsageRecord.purpose)
    )
    return [
        CostLine(
            model=model,
            purpose=purpose,
            calls=int(calls),
            input_tokens=int(tin),
            output_tokens=int(tout),
            cost_usd=float(cost),
        )
        for model, purpose, calls, tin, tout, cost in rows.all()
    ]


async def get_events_after(
    *, session: AsyncSession, thread_id: str, after_seq: int = 0, limit: int = 1000
) -> list[Event]:
    """Logged events of the thread with seq > after_seq, in order (response chunks included)."""
    payloads = await session.scalars(
        select(EventRecord.payload)
        .where(EventRecord.thread_id == thread_id, EventRecord.seq > after_seq)
        .order_by(EventRecord.seq)
        .limit(limit)
    )
    return [EVENT_ADAPTER.validate_python(p) for p in payloads]


async def mark_interrupted(*, session: AsyncSession, error: str | None = None) -> int:
    """Mark every queued or running thread interrupted (at start-up); returns how many."""
    values: dict[str, Any] = {"status": "interrupted", "updated_at": utc_now()}
    if error is not None:
        values["error"] = error
    result = await session.execute(
        update(Thread).where(Thread.status.in_(ACTIVE_STATUSES)).values(**values)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
