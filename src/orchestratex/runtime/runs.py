"""The run manager: owns the lifecycle of runs — submit, adopt, execute, cancel, hand back.

A run started here is a background task of this process, watched until it ends, its lease
renewed meanwhile (runtime/recovery.py). With Redis and the API role, runs are queued for workers
instead. At a graceful stop the manager takes no new runs, lets runs finish for a short grace,
then suspends the others (no terminal event: their completed rounds stay), waits until their
events are stored and hands their leases back, so they resume at once elsewhere or at the next
start from their last complete round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from orchestratex.core.errors import OrchestrateXError
from orchestratex.core.events import Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine.admission import Ledger
from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.engine.run import Run
from orchestratex.engine.state import Spent
from orchestratex.runtime.scaleout import RedisLinks
from orchestratex.store.facade import Resume, Store

log = logging.getLogger(__name__)

HAND_BACK_GRACE_S = 5.0


class ServiceNotRunningError(OrchestrateXError):
    code = "unavailable"


@dataclass
class Active:
    run: Run
    user_id: str | None
    watcher: asyncio.Task[None] | None = None
    job: str | None = None
    """The arq job running it (worker role)."""


Lane = Literal["durable", "live", "passthrough"]
"""How a run is submitted, decided by its caller. `durable` (/api/orchestrate, the CLI): its
thread row is stored before the submission returns. `live` (a /v1 orchestration): its first
events create the row a few milliseconds later. `passthrough` (a /v1 request naming one catalog
model, one upstream call: api/openai_request.py decides it): live too; the per-user request
limit does not count it (its provider's limits pace it) and, unjudged and without a budget, the
event writer holds it and stores it whole at its end (store/whole_runs.py)."""
LedgerFor = Callable[[str | None], Awaitable[Ledger | None]]
Flush = Callable[[str], Awaitable[None]]


class RunManager:
    def __init__(
        self,
        store: Store,
        instance_id: str,
        *,
        links: RedisLinks | None,
        queues_runs: bool,
        flush: Flush,
        ledger_for: LedgerFor,
        settle: Flush | None = None,
    ) -> None:
        self._store = store
        self.instance_id = instance_id
        self._links = links
        self.queues_runs = queues_runs
        self._flush = flush
        self._settle = settle or flush
        self._ledger_for = ledger_for
        self._orchestrator: Orchestrator | None = None
        self._active: dict[str, Active] = {}
        self._remote_live: set[str] = set()
        self._abandoning: set[asyncio.Task[None]] = set()
        self.stopping = False

    def attach(self, orchestrator: Orchestrator | None) -> None:
        self._orchestrator = orchestrator

    @property
    def orchestrator(self) -> Orchestrator:
        if self._orchestrator is None:
            raise ServiceNotRunningError("the service is not running")
        return self._orchestrator

    # --- starting runs ----------------------------------------------------------------------

    async def submit(
        self,
        request: OrchestrationRequest,
        thread_id: str,
        user_id: str | None,
        ledger: Ledger | None,
        *,
        durable: bool = True,
    ) -> None:
        """Start (or queue) a run. `durable`: the thread row exists before this returns (else
        its first events create it, a few milliseconds later)."""
        orchestrator = self.orchestrator
        if self.stopping:
            raise ServiceNotRunningError("the service is shutting down")
        if self._links is not None and self.queues_runs:
            await self._store.create_thread(thread_id, request, user_id, runner_id=None)
            self._remote_live.add(thread_id)
            await self._links.enqueue(thread_id)
            return
        if durable:
            await self._store.create_thread(thread_id, request, user_id, runner_id=self.instance_id)
        run = orchestrator.start(request, thread_id=thread_id, user_id=user_id, ledger=ledger)
        self.adopt(run, user_id)

    def adopt(self, run: Run, user_id: str | None, job: str | None = None) -> None:
        """Own a run started here: watch it until it ends, renew its lease meanwhile."""
        entry = Active(run=run, user_id=user_id, job=job)
        self._active[run.thread_id] = entry
        entry.watcher = asyncio.create_task(self._watch(run.thread_id, run))

    async def _watch(self, thread_id: str, run: Run) -> None:
        try:
            await run.result()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("run %s ended with an unexpected error", thread_id)
        finally:
            # Keep the run (and its events in memory) until they are all stored, at the
            # writer's pace (its terminal event already asked for a write if one is due).
            with contextlib.suppress(Exception):
                await self._settle(thread_id)
            self._active.pop(thread_id, None)

    async def launch(self, point: Resume, job: str | None = None) -> Run:
        """Start a claimed thread again from its completed rounds."""
        if point.rounds:
            log.info("resuming run %s after round %d", point.thread_id, len(point.rounds))
        run = self.orchestrator.start(
            point.request,
            thread_id=point.thread_id,
            user_id=point.user_id,
            resume_rounds=point.rounds,
            spent_before=Spent(point.spent_usd, point.usage),
            first_seq=point.last_seq + 1,
            ledger=await self._ledger_for(point.user_id),
        )
        self.adopt(run, point.user_id, job)
        return run

    # --- state ------------------------------------------------------------------------------

    def active_runs(self) -> dict[str, str | None]:
        """Thread id -> arq job id of the runs going on in this process."""
        return {tid: entry.job for tid, entry in self._active.items()}

    def owner(self, thread_id: str) -> tuple[bool, str | None]:
        """(whether the run is going on here, its user)."""
        entry = self._active.get(thread_id)
        return (entry is not None, entry.user_id if entry is not None else None)

    def is_live(self, thread_id: str) -> bool:
        return thread_id in self._active or thread_id in self._remote_live

    def watch_remote(self, thread_id: str) -> None:
        self._remote_live.add(thread_id)

    def run_of(self, thread_id: str) -> Run | None:
        """The run, when it goes on in this process."""
        entry = self._active.get(thread_id)
        return entry.run if entry is not None else None

    def in_memory(self, thread_id: str) -> list[Event]:
        entry = self._active.get(thread_id)
        return entry.run.emitted() if entry is not None else []

    def held_from(self, thread_id: str) -> int | None:
        """The first seq this process holds in memory for a run it executes (None: not here)."""
        entry = self._active.get(thread_id)
        return entry.run.first_seq if entry is not None else None

    async def wait(self, thread_id: str) -> str | None:
        """Wait for a run of this process to end; its status (None: not running here)."""
        entry = self._active.get(thread_id)
        if entry is None:
            return None
        status = (await entry.run.result()).status
        if entry.watcher is not None:
            await asyncio.wait([entry.watcher])
        return status

    async def prune_remote(self) -> None:
        """Forget remote runs that have ended (their followers may then finish)."""
        watched = list(self._remote_live)
        still = await self._store.unfinished_among(watched)
        self._remote_live.difference_update(set(watched) - still)

    async def prune_remote_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.prune_remote()
            except Exception:
                log.warning("could not check the status of remote runs", exc_info=True)

    def cancel_here(self, thread_id: str) -> bool:
        entry = self._active.get(thread_id)
        if entry is None:
            return False
        entry.run.cancel()
        return True

    def abandon(self, thread_id: str) -> None:
        """Its requester went away: cancel the run here at once, or, when a worker runs it,
        send the worker the same cancel request `POST .../cancel` sends. Synchronous, so a
        caller being cancelled itself still gets the request out."""
        if self.cancel_here(thread_id) or self._links is None:
            return
        task = asyncio.create_task(self._request_cancel(thread_id), name=f"abandon-{thread_id}")
        self._abandoning.add(task)
        task.add_done_callback(self._abandoning.discard)

    async def _request_cancel(self, thread_id: str) -> None:
        assert self._links is not None
        try:
            await self._links.request_cancel(thread_id)
        except Exception:
            log.warning("could not ask the worker to cancel %s", thread_id, exc_info=True)

    # --- stopping ---------------------------------------------------------------------------

    async def stop(self, grace_s: float = HAND_BACK_GRACE_S) -> list[str]:
        """Take no new runs; give runs `grace_s` to end, then suspend and hand back the rest.
        Returns the thread ids handed back."""
        self.stopping = True
        active = list(self._active.values())
        watchers = [e.watcher for e in active if e.watcher is not None]
        if watchers and grace_s > 0:
            await asyncio.wait(watchers, timeout=grace_s)
        remaining = list(self._active.values())
        for entry in remaining:
            entry.run.suspend()
        pending = [e.watcher for e in remaining if e.watcher is not None]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        thread_ids = [e.run.thread_id for e in remaining]
        for thread_id in thread_ids:
            with contextlib.suppress(Exception):
                await self._flush(thread_id)
        if thread_ids:
            handed = await self._store.hand_back(self.instance_id, thread_ids)
            log.info("handed back %d unfinished run(s) to be resumed", handed)
            if self._links is not None:
                for thread_id in thread_ids:
                    await self._links.enqueue(thread_id, job=f"orx-handback-{thread_id}")
        return thread_ids
