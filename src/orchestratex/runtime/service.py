"""The running service: the one entry point `api` and `cli` call. It wires the parts of the
composition root and delegates: lifecycle to the run manager, limits and budgets to quotas,
following to `follow`, SQL to the store. Events go to the batched writer and the bus; nothing on a
run's path waits for the database. With `redis_url`, API instances queue runs for workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Mapping
from typing import Any, Literal

from orchestratex.core.events import Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine.admission import Ledger
from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.gateway import Gateway
from orchestratex.runtime import recovery
from orchestratex.runtime.analytics import Analytics
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.budgets import BudgetLedger
from orchestratex.runtime.composition import (
    answering_models,
    build_parts,
    default_instance_id,
    start_gateway,
    start_orchestrator,
    start_retrainer,
)
from orchestratex.runtime.defaults import check_named_models, with_defaults
from orchestratex.runtime.follow import Follow, FollowSources, follow
from orchestratex.runtime.key_cache import KeyCache
from orchestratex.runtime.replay_mode import replay_request
from orchestratex.runtime.retrain import Retrainer
from orchestratex.runtime.runs import Lane, RunManager, ServiceNotRunningError
from orchestratex.runtime.settings import Settings
from orchestratex.runtime.visibility import ThreadStatus, thread_status, visible
from orchestratex.store.db import SessionFactory
from orchestratex.store.views import ThreadDetail, ThreadOutcome, ThreadPage
from orchestratex.store.writer import EventWriter

__all__ = ["Service", "ServiceNotRunningError", "ThreadDetail", "ThreadPage", "ThreadStatus"]

log = logging.getLogger(__name__)

REMOTE_CHECK_S = 1.0
Role = Literal["api", "worker"]


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
        train_router: bool = True,
    ) -> None:
        self.settings = settings
        self.role: Role = role
        self.train_router = train_router  # False for one-shot runs (ask): no training
        self.instance_id = settings.instance_id or default_instance_id()
        self.parts = build_parts(
            settings, catalog=catalog, env=env, requests_per_minute=requests_per_minute
        )
        parts, self.env = self.parts, env
        self.mode, self.replay, self.catalog = parts.mode, parts.replay, parts.catalog
        self.links, self.bus = parts.links, parts.bus
        self.store, self.quotas = parts.store, parts.quotas
        self.keys = KeyCache(self.store)
        self.writer = EventWriter(self.store.writes)
        self.analytics = Analytics(self.store, settle=self.writer.flush)
        self.runs = RunManager(
            self.store,
            self.instance_id,
            links=self.links,
            queues_runs=self.queues_runs,
            ledger_for=self._ledger_for,
            flush=self.flush,
            settle=self.writer.settled,
        )
        self._gateway: Gateway | None = None
        self.retrainer: Retrainer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def queues_runs(self) -> bool:
        """True when submitted runs go to the job queue instead of running here."""
        return self.links is not None and self.role == "api"

    @property
    def sessions(self) -> SessionFactory:
        return self.store.sessions

    @property
    def budgets(self) -> BudgetLedger:
        return self.quotas.budgets

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            raise ServiceNotRunningError("the service is not running")
        return self._gateway

    @property
    def orchestrator(self) -> Orchestrator:
        return self.runs.orchestrator

    async def _ledger_for(self, user_id: str | None) -> Ledger | None:
        """The budget ledger of a run's user (for a run resumed after a restart)."""
        budget = await self.store.user_budget(user_id) if user_id is not None else None
        return self.quotas.ledger(Principal(user_id, "", False, budget)) if budget else None

    async def start(self) -> None:
        await self.store.start()
        await self.writer.start()
        if self.links is not None:
            await self.links.start()
        self._gateway = await start_gateway(self.parts)
        train = self.train_router and not self.queues_runs
        orchestrator, router = await start_orchestrator(
            self.parts, self._gateway, self._sink, train_router=train
        )
        self.runs.attach(orchestrator)
        self.runs.stopping = self._stopping = False
        ttl = self.settings.lease_ttl_s
        self._spawn(recovery.keep_leases(self.runs, self.store, self.links, ttl), "leases")
        if router.needs_training:
            self._spawn(router.train_in(orchestrator), "router")
        self.retrainer = start_retrainer(self.parts, self.instance_id, router, orchestrator)
        if self.retrainer is not None and self.train_router:  # not in one-shot runs (ask)
            self._spawn(self.retrainer.run(), "retrain")
        if self.links is None:
            await recovery.recover_local(self.runs, self.store, ttl)
            self._spawn(recovery.watch_local(self.runs, self.store, ttl), "recovery")
        elif self.role == "worker":
            self.links.follow_cancels(self._cancel_here)
        else:
            self._spawn(self.runs.prune_remote_forever(REMOTE_CHECK_S), "remote")

    def _spawn(self, work: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=f"orchestratex-{name}"))

    async def stop(self) -> None:
        """Take no new runs, let runs end or hand them back to be resumed, then close."""
        self._stopping = True
        await self.runs.stop(self.settings.shutdown_grace_s)
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
        self.runs.attach(None)
        await self.writer.aclose()
        await self.store.aclose()

    def _sink(self, event: Event) -> Awaitable[None] | None:
        """Every event: to the writer's buffer (stored within its flush interval, at once at a
        round's or run's end) and to the bus (at once in process); no database wait here."""
        self.writer.add(event)
        return self.bus.deliver(event)

    async def ping_db(self) -> bool:
        return await self.store.ping()

    async def auth_enabled(self) -> bool:
        """Whether any API key exists (cached for a moment: runtime/key_cache.py)."""
        return await self.keys.enabled()

    async def authenticate(self, key: str) -> Principal | None:
        """The holder of an API key, or None (cached for a moment: runtime/key_cache.py)."""
        return await self.keys.principal(key)

    # --- runs ---------------------------------------------------------------------------------

    async def spent_usd(self, user_id: str) -> float:
        return await self.quotas.spent_usd(user_id)

    async def submit(
        self, request: OrchestrationRequest, *, user: Principal, lane: Lane = "durable"
    ) -> str:
        """Admit a request and start it in the background; returns its thread id at once.

        `lane` (runtime/runs.py `Lane`) is the caller's. Refused before anything is stored:
        unknown models, the user's request rate (a passthrough against its own limit), a budget
        short of a short answer (402)."""
        if self._stopping or self.runs.stopping:
            raise ServiceNotRunningError("the service is shutting down")
        self.runs.orchestrator  # noqa: B018 - raises when not started
        request = with_defaults(request, self.settings)
        check_named_models(request, self.catalog)
        if self.replay is not None:
            request = await replay_request(self.replay, request)
        await self.quotas.count_request(user, passthrough=lane == "passthrough")
        models = answering_models(self.parts)
        await self.quotas.check_affordable(request, user, models, self.catalog.prices)
        thread_id = uuid.uuid4().hex
        if lane == "passthrough" and request.judge_count == 0 and user.budget_usd is None:
            self.writer.hold(thread_id)  # stored whole at its end (a budget's spend at once)
        ledger = self.quotas.ledger(user)
        await self.runs.submit(request, thread_id, user.user_id, ledger, durable=lane == "durable")
        return thread_id

    async def execute(self, thread_id: str, *, job: str | None = None) -> str:
        """Run (or resume) a queued thread here and wait for its end (worker role)."""
        return await recovery.execute(
            self.runs, self.store, self.links, thread_id, self.settings.lease_ttl_s, job=job
        )

    async def _cancel_here(self, thread_id: str) -> None:
        self.runs.cancel_here(thread_id)

    def is_live(self, thread_id: str) -> bool:
        return self.runs.is_live(thread_id)

    async def flush(self, thread_id: str) -> None:
        """Return once every event of the thread emitted so far is stored (read your writes)."""
        await self.writer.flush(thread_id)

    async def threads(
        self, user: Principal, *, search: str | None, status: str | None, limit: int, offset: int
    ) -> ThreadPage:
        """History, newest first: a user's own threads, or all for an admin."""
        return await self.store.thread_page(
            user_id=user.user_id,
            is_admin=user.is_admin,
            search=search,
            status=status,
            limit=limit,
            offset=offset,
        )

    async def thread_detail(self, thread_id: str, *, user: Principal) -> ThreadDetail | None:
        """One thread in full (its events emitted so far stored first), or None."""
        await self.flush(thread_id)
        return await self.store.thread_detail(
            thread_id, user_id=user.user_id, is_admin=user.is_admin
        )

    async def thread_outcome(self, thread_id: str, *, user: Principal) -> ThreadOutcome | None:
        """The thread's status, request and result as stored (its events stored first), or
        None when it does not exist or `user` may not see it."""
        await self.flush(thread_id)
        return await self.store.thread_outcome(
            thread_id, user_id=user.user_id, is_admin=user.is_admin
        )

    async def status(self, thread_id: str, *, user: Principal) -> ThreadStatus | None:
        """The thread's status, or None when it does not exist or `user` may not see it."""
        await self.flush(thread_id)
        return await thread_status(
            self.store, self.runs, thread_id, user, watch_remote=self.queues_runs
        )

    async def may_see(self, thread_id: str, *, user: Principal) -> bool:
        running, owner = self.runs.owner(thread_id)
        if running:
            return visible(user, owner)
        return await self.status(thread_id, user=user) is not None

    async def cancel(self, thread_id: str, *, user: Principal) -> bool | None:
        """Cancel a live run. None: no such thread for `user`; False: it is not running."""
        running, owner = self.runs.owner(thread_id)
        if not running:
            found = await self.status(thread_id, user=user)
            if found is None:
                return None
            if self.links is not None and found.status in ("queued", "running"):
                await self.links.request_cancel(thread_id)
                return True
            return False
        if not visible(user, owner):
            return None
        return self.runs.cancel_here(thread_id)

    def _sources(self) -> FollowSources:
        return FollowSources(
            bus=self.bus,
            in_memory=self.runs.in_memory,
            stored=self.store.events_after,
            is_live=self.runs.is_live,
            held_from=self.runs.held_from,
        )

    def follow(self, thread_id: str, after_seq: int = 0) -> AsyncGenerator[Event, None]:
        """Every event of the thread after `after_seq`, then live ones (visibility not checked)."""
        return follow(self._sources(), thread_id, after_seq)

    def follower(self, thread_id: str, after_seq: int = 0) -> Follow:
        """A `Follow` of the thread, to `open()` (its replay), then iterate and `close()`."""
        return Follow(self._sources(), thread_id, after_seq)
