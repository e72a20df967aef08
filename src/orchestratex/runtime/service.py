"""The running service: database, gateway, orchestrator, event bus and background runs.

Every event of a run goes to the store writer first, then to the bus, in order. Runs are
background tasks owned by the service, so a run goes on when the HTTP client that asked for it
goes away. At start-up, threads a previous process left running are marked `interrupted`; at
shutdown, runs still going are stopped and marked `interrupted` too.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update

from orchestratex.core.errors import BudgetExceededError, OrchestrateXError, UnknownModelError
from orchestratex.core.events import Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.engine.run import Run
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.replay import replay_adapter_factory
from orchestratex.providers.replay_catalog import replay_catalog
from orchestratex.providers.replay_data import RECORDED_JUDGE, ReplayData
from orchestratex.runtime.auth import Principal, auth_enabled
from orchestratex.runtime.bus import EventBus
from orchestratex.runtime.catalog_setup import catalog_from_settings
from orchestratex.runtime.replay_mode import (
    REPLAY_LOG_LINE,
    REPLAY_POLICY,
    replay_request,
    resolve_mode,
)
from orchestratex.runtime.settings import Settings
from orchestratex.store import repository
from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, init_db
from orchestratex.store.performance import SqlPerformanceSource
from orchestratex.store.tables import ACTIVE_STATUSES, Prompt, Thread, UsageRecord
from orchestratex.store.writer import PREVIEW_CHARS, StoreWriter

log = logging.getLogger(__name__)

DEFAULT_REQUESTS_PER_MINUTE = 30
SHUTDOWN_GRACE_S = 5.0


class RequestRateLimitedError(OrchestrateXError):
    """A user sent more orchestration requests than the window allows."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceNotRunningError(OrchestrateXError):
    code = "unavailable"
    http_status = 503


class RateLimiter:
    """At most `limit` requests per key in any sliding `window_s` seconds (in memory)."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one request, or raise RequestRateLimitedError when the window is full."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            wait = hits[0] + self.window_s - now
            raise RequestRateLimitedError(
                f"rate limit: at most {self.limit} requests per {self.window_s:g} s; "
                f"retry in {wait:.0f} s",
                retry_after_s=wait,
            )
        hits.append(now)


@dataclass
class _Active:
    run: Run
    user_id: str | None
    watcher: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class ThreadStatus:
    thread_id: str
    status: str
    user_id: str | None
    live: bool
    data: dict[str, Any]


class Service:
    """Owns every long-lived resource; `start()` before use, `stop()` at the end."""

    def __init__(
        self,
        settings: Settings,
        *,
        catalog: Catalog | None = None,
        env: Mapping[str, str] | None = None,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
    ) -> None:
        self.settings = settings
        self.mode = resolve_mode(settings, env, catalog_given=catalog is not None)
        self.replay = ReplayData(settings.routellm_data_dir) if self.mode == "replay" else None
        if catalog is None:
            catalog = (
                replay_catalog() if self.replay is not None else catalog_from_settings(settings)
            )
        self.catalog = catalog
        self.env = env
        self.bus = EventBus()
        self.limiter = RateLimiter(requests_per_minute)
        self.db = create_engine(settings.effective_database_url)
        self.sessions: SessionFactory = create_session_factory(self.db)
        self.writer = StoreWriter(self.sessions)
        self._gateway: Gateway | None = None
        self._orchestrator: Orchestrator | None = None
        self._active: dict[str, _Active] = {}
        self._stopping = False

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise ServiceNotRunningError("the service is not running")
        return self._gateway

    @property
    def orchestrator(self) -> Orchestrator:
        if self._orchestrator is None:
            raise ServiceNotRunningError("the service is not running")
        return self._orchestrator

    async def start(self) -> None:
        await init_db(self.db)
        async with self.sessions() as session:
            marked = await repository.mark_interrupted(
                session=session, error="the service stopped while this run was in progress"
            )
        if marked:
            log.info("marked %d unfinished thread(s) from a previous run as interrupted", marked)
        factories = None
        if self.replay is not None:
            factories = {"replay": replay_adapter_factory(self.replay)}
        self._gateway = Gateway(self.catalog, env=self.env, adapter_factories=factories)
        models = self.catalog.available(self.env)
        if self.replay is not None:
            models = [m for m in models if m.key != RECORDED_JUDGE]
            log.warning(REPLAY_LOG_LINE)
            if not self.replay.present():
                log.warning(
                    "replay mode: the recordings were not found in %s; set ORX_ROUTELLM_DATA_DIR",
                    self.replay.where,
                )
        self._orchestrator = Orchestrator(
            self._gateway,
            models,
            self.catalog.prices,
            policy=REPLAY_POLICY if self.replay is not None else None,
            performance=SqlPerformanceSource(self.sessions),
            health=self._gateway,
            sink=self._sink,
        )
        self._stopping = False

    async def stop(self) -> None:
        self._stopping = True
        active = list(self._active.values())
        for entry in active:
            entry.run.cancel()
        watchers = [e.watcher for e in active if e.watcher is not None]
        if watchers:
            await asyncio.wait(watchers, timeout=SHUTDOWN_GRACE_S)
        await self._mark_interrupted([e.run.thread_id for e in active])
        self.bus.close()
        if self._gateway is not None:
            await self._gateway.aclose()
            self._gateway = None
        self._orchestrator = None
        await self.db.dispose()

    async def _mark_interrupted(self, thread_ids: list[str]) -> None:
        """Mark these threads interrupted if they are still unfinished (this process's runs)."""
        if not thread_ids:
            return
        query = update(Thread).where(Thread.status.in_(ACTIVE_STATUSES), Thread.id.in_(thread_ids))
        values = {"status": "interrupted", "error": "the service stopped during this run"}
        async with self.sessions() as session, session.begin():
            await session.execute(query.values(**values))

    async def _sink(self, event: Event) -> None:
        if not self._stopping:
            try:
                await self.writer.handle(event)
            except Exception:
                log.exception("store write failed (thread %s, seq %d)", event.thread_id, event.seq)
        await self.bus.publish(event)

    async def ping_db(self) -> bool:
        try:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def auth_enabled(self) -> bool:
        async with self.sessions() as session:
            return await auth_enabled(session)

    def check_models(self, request: OrchestrationRequest) -> None:
        """Every model the request names must be a known, enabled catalog model."""
        named = [request.model] if request.model else []
        named += request.judges or []
        named += request.preferences.allowed_models or []
        for key in named:
            spec = self.catalog.get(key)
            if not spec.enabled:
                raise UnknownModelError(f"model {key!r} is disabled in this deployment")

    async def spent_usd(self, user_id: str) -> float:
        async with self.sessions() as session:
            total = await session.scalar(
                select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0)).where(
                    UsageRecord.user_id == user_id
                )
            )
        return float(total or 0.0)

    async def _capped(self, request: OrchestrationRequest, user: Principal) -> OrchestrationRequest:
        """The request with its budget capped at what the user has left."""
        if user.user_id is None or user.budget_usd is None:
            return request
        left = user.budget_usd - await self.spent_usd(user.user_id)
        if left <= 0:
            raise BudgetExceededError(
                f"budget exhausted: {user.budget_usd:.4f} USD allowed, nothing left"
            )
        given = request.preferences.budget_usd
        cap = left if given is None else min(given, left)
        preferences = request.preferences.model_copy(update={"budget_usd": cap})
        return request.model_copy(update={"preferences": preferences})

    async def submit(self, request: OrchestrationRequest, *, user: Principal) -> str:
        """Start a run in the background; returns its thread id at once."""
        orchestrator = self.orchestrator
        if self._stopping:
            raise ServiceNotRunningError("the service is shutting down")
        self.check_models(request)
        if self.replay is not None:
            request = await replay_request(self.replay, request)
        self.limiter.hit(user.rate_key)
        request = await self._capped(request, user)
        thread_id = uuid.uuid4().hex
        await self._create_thread(thread_id, request, user.user_id)
        run = orchestrator.start(request, thread_id=thread_id, user_id=user.user_id)
        entry = _Active(run=run, user_id=user.user_id)
        self._active[thread_id] = entry
        entry.watcher = asyncio.create_task(self._watch(thread_id, run))
        return thread_id

    async def _create_thread(
        self, thread_id: str, request: OrchestrationRequest, user_id: str | None
    ) -> None:
        """The queued thread and its prompt, so status and ownership hold from the first moment."""
        async with self.sessions() as session, session.begin():
            session.add(
                Thread(
                    id=thread_id,
                    user_id=user_id,
                    status="queued",
                    prompt_preview=request.prompt[:PREVIEW_CHARS],
                    request=request.model_dump(mode="json"),
                )
            )
            await session.flush()
            session.add(Prompt(thread_id=thread_id, text=request.prompt, system=request.system))

    async def _watch(self, thread_id: str, run: Run) -> None:
        try:
            await run.result()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("run %s ended with an unexpected error", thread_id)
        finally:
            self._active.pop(thread_id, None)

    @staticmethod
    def _visible(user: Principal, owner: str | None) -> bool:
        return user.is_admin or (user.user_id is not None and owner == user.user_id)

    def is_live(self, thread_id: str) -> bool:
        return thread_id in self._active

    async def status(self, thread_id: str, *, user: Principal) -> ThreadStatus | None:
        """The thread's status, or None when it does not exist or `user` may not see it."""
        async with self.sessions() as session:
            thread = await session.get(Thread, thread_id)
        if thread is None or not self._visible(user, thread.user_id):
            return None
        live = thread_id in self._active
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
        return ThreadStatus(thread_id, thread.status, thread.user_id, live, data)

    async def cancel(self, thread_id: str, *, user: Principal) -> bool | None:
        """Cancel a live run. None: no such thread for `user`; False: it is not running."""
        entry = self._active.get(thread_id)
        if entry is None:
            found = await self.status(thread_id, user=user)
            return None if found is None else False
        if not self._visible(user, entry.user_id):
            return None
        entry.run.cancel()
        return True
