"""The running service: database, gateway, orchestrator, event bus and background runs.

Every event of a run goes to the store writer first, then to the bus, in order. Runs are
background tasks owned by the service, so a run goes on when the HTTP client that asked for it
goes away. Each run holds a lease (runner id + heartbeat, renewed while it runs). At start-up,
runs whose lease expired (their process died) are resumed from their completed rounds, or
marked `interrupted` when nothing is stored; runs of other live processes are left alone. At
shutdown, runs still going are stopped and marked `interrupted`.

With `redis_url` set, the service is one of several instances: the bus goes through Redis, the
API role queues runs for `orchestratex worker` processes (role "worker"), which execute them,
and cancel requests and rate limits are shared (runtime/scaleout.py), as are the providers'
rate limits (runtime/provider_limits.py) and budget holds (runtime/budgets.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, text, update

from orchestratex.core.errors import OrchestrateXError, UnknownModelError
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
from orchestratex.runtime.budgets import BudgetLedger, LocalBudgets, RedisBudgets
from orchestratex.runtime.bus import EventBus
from orchestratex.runtime.catalog_setup import catalog_from_settings
from orchestratex.runtime.learned_router import ServiceRouter
from orchestratex.runtime.provider_limits import RedisProviderLimits
from orchestratex.runtime.ratelimit import RateLimiter as RateLimiter
from orchestratex.runtime.ratelimit import RequestRateLimitedError as RequestRateLimitedError
from orchestratex.runtime.recovery import (
    claim_lease,
    keep_leases,
    launch_resumed,
    recover_local,
    watch_local,
)
from orchestratex.runtime.replay_mode import (
    REPLAY_LOG_LINE,
    REPLAY_POLICY,
    replay_request,
    resolve_mode,
)
from orchestratex.runtime.scaleout import RedisLinks
from orchestratex.runtime.settings import Settings
from orchestratex.store import repository
from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, init_db
from orchestratex.store.performance import SqlPerformanceSource
from orchestratex.store.tables import ACTIVE_STATUSES, Thread, UsageRecord
from orchestratex.store.writer import StoreWriter

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 5.0
REMOTE_CHECK_S = 1.0
Role = Literal["api", "worker"]


class ServiceNotRunningError(OrchestrateXError):
    code = "unavailable"
    http_status = 503


@dataclass
class _Active:
    run: Run
    user_id: str | None
    watcher: asyncio.Task[None] | None = None
    job: str | None = None
    """The arq job running it (worker role)."""


def default_instance_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


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
        requests_per_minute: int | None = None,
        role: Role = "api",
    ) -> None:
        self.settings = settings
        self.role: Role = role
        self.instance_id = settings.instance_id or default_instance_id()
        self.mode = resolve_mode(settings, env, catalog_given=catalog is not None)
        self.replay = ReplayData(settings.routellm_data_dir) if self.mode == "replay" else None
        if catalog is None:
            catalog = (
                replay_catalog() if self.replay is not None else catalog_from_settings(settings)
            )
        self.catalog = catalog
        self.env = env
        per_minute = requests_per_minute or settings.requests_per_minute
        self.links = (
            RedisLinks(settings.redis_url, requests_per_minute=per_minute)
            if settings.redis_url
            else None
        )
        self.bus: EventBus = self.links.bus if self.links is not None else EventBus()
        self.limiter = RateLimiter(per_minute)
        self.budgets: BudgetLedger = (
            RedisBudgets(self.links.client, hold_s=settings.budget_hold_s)
            if self.links is not None
            else LocalBudgets()
        )
        self.db = create_engine(settings.effective_database_url)
        self.sessions: SessionFactory = create_session_factory(self.db)
        self.writer = StoreWriter(self.sessions)
        self._gateway: Gateway | None = None
        self._orchestrator: Orchestrator | None = None
        self._active: dict[str, _Active] = {}
        self._remote_live: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def queues_runs(self) -> bool:
        """True when submitted runs go to the job queue instead of running here."""
        return self.links is not None and self.role == "api"

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
        if self.links is not None:
            await self.links.start()
        factories = None
        if self.replay is not None:
            factories = {"replay": replay_adapter_factory(self.replay)}
        self._gateway = Gateway(
            self.catalog,
            env=self.env,
            adapter_factories=factories,
            rate_window_s=self.settings.provider_rate_window_s,
            limiter_factory=(
                RedisProviderLimits(
                    self.links.client, window_s=self.settings.provider_rate_window_s
                )
                if self.links is not None
                else None
            ),
        )
        await self._gateway.warm_up()
        models = self.catalog.available(self.env)
        if self.replay is not None:
            models = [m for m in models if m.key != RECORDED_JUDGE]
            log.warning(REPLAY_LOG_LINE)
            if not self.replay.present():
                log.warning(
                    "replay mode: the recordings were not found in %s; set ORX_ROUTELLM_DATA_DIR",
                    self.replay.where,
                )
        router = ServiceRouter(self.settings, replay=self.replay is not None)
        selector = await router.initial(models, self.catalog.prices, train=not self.queues_runs)
        self._orchestrator = Orchestrator(
            self._gateway,
            models,
            self.catalog.prices,
            policy=REPLAY_POLICY if self.replay is not None else None,
            performance=SqlPerformanceSource(self.sessions),
            health=self._gateway,
            sink=self._sink,
            selector=selector,
        )
        self._stopping = False
        self._tasks.append(asyncio.create_task(keep_leases(self), name="orchestratex-leases"))
        if router.needs_training:
            training = router.train_in(self._orchestrator)
            self._tasks.append(asyncio.create_task(training, name="orchestratex-router"))
        if self.links is None:
            await recover_local(self)
            self._tasks.append(asyncio.create_task(watch_local(self)))
        elif self.role == "worker":
            self.links.follow_cancels(self._cancel_here)
        else:
            self._tasks.append(asyncio.create_task(self._prune_remote()))

    async def stop(self) -> None:
        self._stopping = True
        active = list(self._active.values())
        for entry in active:
            entry.run.cancel()
        watchers = [e.watcher for e in active if e.watcher is not None]
        if watchers:
            await asyncio.wait(watchers, timeout=SHUTDOWN_GRACE_S)
        await self._mark_interrupted([e.run.thread_id for e in active])
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.links is not None:
            await self.links.aclose()
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
        query = update(Thread).where(
            Thread.status.in_(ACTIVE_STATUSES),
            Thread.id.in_(thread_ids),
            Thread.runner_id == self.instance_id,
        )
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

    async def _capped(
        self, request: OrchestrationRequest, user: Principal, thread_id: str
    ) -> OrchestrationRequest:
        """The request with its budget capped at what the user has left, that cap held for the
        run until it ends (runtime/budgets.py); BudgetExceededError when nothing is left."""
        user_id, budget = user.user_id, user.budget_usd
        if user_id is None or budget is None:
            return request
        cap = await self.budgets.hold(
            user_id,
            thread_id,
            budget_usd=budget,
            wanted_usd=request.preferences.budget_usd,
            spent=lambda: self.spent_usd(user_id),
        )
        preferences = request.preferences.model_copy(update={"budget_usd": cap})
        return request.model_copy(update={"preferences": preferences})

    async def _release_budget(
        self, user_id: str | None, thread_id: str, cost: float | None
    ) -> None:
        if user_id is None:
            return
        try:
            await self.budgets.release(user_id, thread_id, cost_usd=cost)
        except Exception:
            log.warning("could not release the budget hold of run %s", thread_id, exc_info=True)

    async def submit(self, request: OrchestrationRequest, *, user: Principal) -> str:
        """Start a run in the background; returns its thread id at once."""
        orchestrator = self.orchestrator
        if self._stopping:
            raise ServiceNotRunningError("the service is shutting down")
        self.check_models(request)
        if self.replay is not None:
            request = await replay_request(self.replay, request)
        await self._count_request(user.rate_key)
        thread_id = uuid.uuid4().hex
        request = await self._capped(request, user, thread_id)
        try:
            if self.links is not None and self.queues_runs:
                await self._create_thread(thread_id, request, user.user_id, runner_id=None)
                self._remote_live.add(thread_id)
                await self.links.enqueue(thread_id)
                return thread_id
            await self._create_thread(thread_id, request, user.user_id, runner_id=self.instance_id)
            run = orchestrator.start(request, thread_id=thread_id, user_id=user.user_id)
        except BaseException:
            await self._release_budget(user.user_id, thread_id, 0.0)
            raise
        self.adopt(run, user.user_id)
        return thread_id

    async def _count_request(self, key: str) -> None:
        if self.links is None:
            self.limiter.hit(key)
            return
        wait = await self.links.limiter.hit(key, uuid.uuid4().hex)
        if wait is not None:
            limit, window = self.links.limiter.limit, self.links.limiter.window_s
            raise RequestRateLimitedError(
                f"rate limit: at most {limit} requests per {window:g} s; retry in {wait:.0f} s",
                retry_after_s=wait,
            )

    def adopt(self, run: Run, user_id: str | None, job: str | None = None) -> None:
        """Own a run started here: watch it until it ends, renew its lease meanwhile."""
        entry = _Active(run=run, user_id=user_id, job=job)
        self._active[run.thread_id] = entry
        entry.watcher = asyncio.create_task(self._watch(run.thread_id, run))

    def active_runs(self) -> dict[str, str | None]:
        """Thread id -> arq job id of the runs going on in this process."""
        return {tid: entry.job for tid, entry in self._active.items()}

    async def execute(self, thread_id: str, *, job: str | None = None) -> str:
        """Run (or resume) a queued thread here and wait for its end; returns what happened."""
        here = self._active.get(thread_id)
        if here is not None:
            # arq handed the job out again while this process still runs it: wait for that run.
            return (await here.run.result()).status
        if not await claim_lease(self, thread_id):
            return "skipped: finished, or another live runner holds it"
        if self.links is not None and job is not None:
            await self.links.extend_job(job, self.settings.lease_ttl_s)
        run = await launch_resumed(self, thread_id, job=job)
        if run is None:
            return "skipped: nothing to run"
        if self.links is not None and await self.links.cancel_requested(thread_id):
            run.cancel()
        entry = self._active.get(thread_id)
        watcher = entry.watcher if entry is not None else None
        result = await run.result()
        if watcher is not None:
            await asyncio.wait([watcher])
        return result.status

    async def _cancel_here(self, thread_id: str) -> None:
        entry = self._active.get(thread_id)
        if entry is not None:
            entry.run.cancel()

    async def _prune_remote(self) -> None:
        """Forget remote runs that have ended (their feeds may then finish)."""
        while True:
            await asyncio.sleep(REMOTE_CHECK_S)
            watched = list(self._remote_live)
            if not watched:
                continue
            try:
                async with self.sessions() as session:
                    rows = await session.execute(
                        select(Thread.id).where(
                            Thread.id.in_(watched), Thread.status.in_(ACTIVE_STATUSES)
                        )
                    )
                    still = {row[0] for row in rows}
            except Exception:
                log.warning("could not check the status of remote runs", exc_info=True)
                continue
            self._remote_live.difference_update(set(watched) - still)

    async def _create_thread(
        self,
        thread_id: str,
        request: OrchestrationRequest,
        user_id: str | None,
        *,
        runner_id: str | None,
    ) -> None:
        """The queued thread and its prompt, so status and ownership hold from the first moment."""
        async with self.sessions() as session:
            await repository.create_thread(
                session=session,
                thread_id=thread_id,
                request=request,
                user_id=user_id,
                runner_id=runner_id,
            )

    async def _watch(self, thread_id: str, run: Run) -> None:
        cost: float | None = None
        try:
            cost = (await run.result()).total_cost_usd
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("run %s ended with an unexpected error", thread_id)
        finally:
            entry = self._active.pop(thread_id, None)
            if entry is not None:
                await self._release_budget(entry.user_id, thread_id, cost)

    @staticmethod
    def _visible(user: Principal, owner: str | None) -> bool:
        return user.is_admin or (user.user_id is not None and owner == user.user_id)

    def is_live(self, thread_id: str) -> bool:
        return thread_id in self._active or thread_id in self._remote_live

    async def status(self, thread_id: str, *, user: Principal) -> ThreadStatus | None:
        """The thread's status, or None when it does not exist or `user` may not see it."""
        async with self.sessions() as session:
            thread = await session.get(Thread, thread_id)
        if thread is None or not self._visible(user, thread.user_id):
            return None
        if self.queues_runs and thread.status in ACTIVE_STATUSES:
            self._remote_live.add(thread_id)
        live = self.is_live(thread_id)
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
            if found is None:
                return None
            if self.links is not None and found.status in ACTIVE_STATUSES:
                await self.links.request_cancel(thread_id)
                return True
            return False
        if not self._visible(user, entry.user_id):
            return None
        entry.run.cancel()
        return True
