"""`Store`: the one object through which the runtime reaches the database.

It owns the engine, the session factory (reads) and the writes (writes.py: on SQLite one task
and one connection perform every write; on PostgreSQL a pooled session each), and answers in
typed views, so no module above the store runs SQL or imports SQLAlchemy. The functions it
wraps (repository, leases, analytics) stay usable on their own with a session; every write of
the service goes through `write` (or a method here that calls it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, text, update

from orchestratex.core.events import Event
from orchestratex.core.orchestration import OrchestrationRequest, RoundResult
from orchestratex.core.types import TokenUsage
from orchestratex.store import keys, leases, repository
from orchestratex.store.db import (
    Session,
    SessionFactory,
    create_engine,
    create_session_factory,
    init_db,
)
from orchestratex.store.tables import ACTIVE_STATUSES, Thread, UsageRecord, User, utc_now
from orchestratex.store.views import ThreadDetail, ThreadPage
from orchestratex.store.writes import Work, Writes, writes_for

T = TypeVar("T")


@dataclass(frozen=True)
class ThreadState:
    """A thread as the runtime sees it: status, owner and the summary the API shows."""

    thread_id: str
    status: str
    user_id: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Resume:
    """Where a new attempt of a run starts: its request, completed rounds, next seq, and what
    the earlier attempts spent (every usage record of the thread, a round they did not finish
    included), which the new attempt counts in its total and its budget."""

    thread_id: str
    request: OrchestrationRequest
    user_id: str | None
    rounds: list[RoundResult]
    last_seq: int
    spent_usd: float
    usage: TokenUsage


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.sessions: SessionFactory = create_session_factory(self.engine)
        """Sessions for reads (a write through one would contend with the writer on SQLite)."""
        self.writes: Writes = writes_for(url, self.engine)

    async def start(self) -> None:
        await init_db(self.engine)

    async def aclose(self) -> None:
        await self.writes.aclose()
        await self.engine.dispose()

    async def write(self, work: Work[T]) -> T:
        """Run `work(session)` as one write transaction (committed unless it raises) and
        return its result; its error, if any, is raised here."""
        return await self.writes.run(work)

    async def any_active_key(self) -> bool:
        """Whether any usable API key exists (else the service is in open mode)."""
        return await keys.any_active_key_on(self.engine)

    async def ping(self) -> bool:
        try:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    # --- threads ---------------------------------------------------------------------------

    async def create_thread(
        self,
        thread_id: str,
        request: OrchestrationRequest,
        user_id: str | None,
        *,
        runner_id: str | None,
    ) -> None:
        await self.write(
            lambda session: repository.create_thread(
                session=session,
                thread_id=thread_id,
                request=request,
                user_id=user_id,
                runner_id=runner_id,
            )
        )

    async def thread_page(
        self,
        *,
        user_id: str | None,
        is_admin: bool,
        search: str | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> ThreadPage:
        async with self.sessions() as session:
            return await repository.list_threads(
                session=session,
                user_id=user_id,
                is_admin=is_admin,
                search=search,
                status=status,
                limit=limit,
                offset=offset,
            )

    async def thread_detail(
        self, thread_id: str, *, user_id: str | None, is_admin: bool
    ) -> ThreadDetail | None:
        async with self.sessions() as session:
            return await repository.get_thread_detail(
                session=session, thread_id=thread_id, user_id=user_id, is_admin=is_admin
            )

    async def thread_state(self, thread_id: str) -> ThreadState | None:
        async with self.sessions() as session:
            thread = await session.get(Thread, thread_id)
        if thread is None:
            return None
        result = thread.result or {}
        data: dict[str, Any] = {
            "prompt_preview": thread.prompt_preview,
            "domain": thread.domain,
            "selected_model": thread.selected_model,
            "best_round": thread.best_round,
            "score": thread.final_score,
            "stop_reason": thread.stop_reason,
            "answer": result.get("answer"),
            "rounds": len(result.get("rounds", [])),
            "total_cost_usd": thread.total_cost_usd,
            "input_tokens": thread.input_tokens,
            "output_tokens": thread.output_tokens,
            "error": thread.error,
            "created_at": thread.created_at,
            "updated_at": thread.updated_at,
            "completed_at": thread.completed_at,
            "last_seq": thread.last_seq,
        }
        return ThreadState(thread.id, thread.status, thread.user_id, data)

    async def unfinished_among(self, thread_ids: list[str]) -> set[str]:
        if not thread_ids:
            return set()
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Thread.id).where(
                    Thread.id.in_(thread_ids), Thread.status.in_(ACTIVE_STATUSES)
                )
            )
            return set(rows)

    async def events_after(self, thread_id: str, after_seq: int, limit: int) -> list[Event]:
        async with self.sessions() as session:
            return await repository.get_events_after(
                session=session, thread_id=thread_id, after_seq=after_seq, limit=limit
            )

    async def user_spent(self, user_id: str) -> float:
        async with self.sessions() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(
                    UsageRecord.user_id == user_id
                )
            )
        return float(total or 0.0)

    async def user_budget(self, user_id: str) -> float | None:
        async with self.sessions() as session:
            user = await session.get(User, user_id)
        return user.budget_usd if user is not None else None

    # --- leases ------------------------------------------------------------------------------

    async def claim(self, thread_id: str, runner_id: str, ttl_s: float) -> bool:
        return await self.write(
            lambda session: leases.claim(
                session=session, thread_id=thread_id, runner_id=runner_id, ttl_s=ttl_s
            )
        )

    async def lease(self, thread_id: str) -> leases.Lease | None:
        async with self.sessions() as session:
            return await leases.lease(session=session, thread_id=thread_id)

    async def renew(self, runner_id: str, thread_ids: list[str]) -> None:
        await self.write(
            lambda session: leases.renew(
                session=session, runner_id=runner_id, thread_ids=thread_ids
            )
        )

    async def expired(
        self, ttl_s: float, *, claimed_only: bool = False, grace_s: float = 0.0
    ) -> list[str]:
        async with self.sessions() as session:
            return await leases.expired(
                session=session, ttl_s=ttl_s, claimed_only=claimed_only, grace_s=grace_s
            )

    async def queued_since(self, seconds: float) -> list[str]:
        async with self.sessions() as session:
            return await leases.queued_since(session=session, seconds=seconds)

    async def owned_by(self, runner_id: str) -> list[str]:
        """Unfinished threads whose lease names `runner_id`."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Thread.id)
                .where(Thread.runner_id == runner_id, Thread.status.in_(ACTIVE_STATUSES))
                .order_by(Thread.created_at, Thread.id)
            )
            return list(rows)

    async def resume_point(self, thread_id: str, *, drop_partial: bool = True) -> Resume | None:
        """The completed rounds of the thread (a half-played round's rows dropped)."""

        async def find(session: Session) -> leases.ResumePoint | None:
            point = await leases.resume_point(session=session, thread_id=thread_id)
            if point is not None and drop_partial:
                await leases.drop_partial_rounds(
                    session=session, thread_id=thread_id, after=len(point.rounds)
                )
            return point

        if drop_partial:
            point = await self.write(find)
        else:
            async with self.sessions() as session:
                point = await find(session)
        if point is None:
            return None
        return Resume(
            point.thread_id,
            point.request,
            point.user_id,
            list(point.rounds),
            point.last_seq,
            point.spent_usd,
            point.usage,
        )

    async def interrupt(
        self, thread_ids: list[str], error: str, *, runner_id: str | None = None
    ) -> int:
        return await self.write(
            lambda session: leases.interrupt(
                session=session, thread_ids=thread_ids, error=error, runner_id=runner_id
            )
        )

    async def hand_back(self, runner_id: str, thread_ids: list[str]) -> int:
        """Give up our lease on these unfinished threads so any runner may claim them now."""
        if not thread_ids:
            return 0
        statement = (
            update(Thread)
            .where(
                Thread.id.in_(thread_ids),
                Thread.runner_id == runner_id,
                Thread.status.in_(ACTIVE_STATUSES),
            )
            .values(runner_id=None, heartbeat_at=None, updated_at=utc_now())
        )

        async def give_back(session: Session) -> int:
            result = await session.execute(statement)
            return int(getattr(result, "rowcount", 0) or 0)

        return await self.write(give_back)

    async def heartbeat_of(self, thread_id: str) -> datetime | None:
        found = await self.lease(thread_id)
        return found.heartbeat_at if found is not None else None
