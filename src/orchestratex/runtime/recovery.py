"""Leases at run time: claim a thread, renew the leases of our runs, resume or interrupt.

A runner claims a thread before running it (store/leases.py). While its runs go on it renews
their leases every third of the TTL (and, in a worker, arq's in-progress marks of their jobs).
A new attempt resumes from the completed rounds, with the seq after the last stored one. A lease
handed back at a graceful stop (no runner) can be claimed at once; so can the leases this very
runner id held before a restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from orchestratex.runtime.runs import RunManager
from orchestratex.runtime.scaleout import RedisLinks
from orchestratex.store.facade import Store
from orchestratex.store.tables import ACTIVE_STATUSES, utc_now

log = logging.getLogger(__name__)

CLAIM_ATTEMPTS = 3
RENEW_ATTEMPTS = 3
RENEW_RETRY_S = 0.05
INTERRUPTED = "the process running this run stopped before the run had started"


async def claim_lease(store: Store, runner_id: str, thread_id: str, ttl: float) -> bool:
    """Claim the thread for this runner, waiting out a lease that is about to expire.

    False when the thread has ended, or when its lease is renewed meanwhile (a live runner).
    """
    seen: datetime | None = None
    for attempt in range(CLAIM_ATTEMPTS):
        if await store.claim(thread_id, runner_id, ttl):
            return True
        current = await store.lease(thread_id)
        if current is None or current.status not in ACTIVE_STATUSES:
            return False
        if attempt > 0 and current.heartbeat_at != seen:
            return False
        seen = current.heartbeat_at
        wait = ttl
        if seen is not None:
            wait = ttl - (utc_now() - seen).total_seconds()
        await asyncio.sleep(min(max(wait, 0.0), ttl) + 0.1)
    return False


async def recover_local(manager: RunManager, store: Store, ttl: float) -> None:
    """Without Redis: resume runs whose lease expired (or was handed back, or was ours before a
    restart) from their completed rounds; a thread that never started is marked interrupted."""
    candidates = await store.expired(ttl)
    mine = [t for t in await store.owned_by(manager.instance_id) if t not in candidates]
    resumed = interrupted = 0
    for thread_id in [*mine, *candidates]:
        if thread_id in manager.active_runs():
            continue
        lease_ttl = 0.0 if thread_id in mine else ttl
        if not await store.claim(thread_id, manager.instance_id, lease_ttl):
            continue
        point = await store.resume_point(thread_id)
        if point is not None:
            await manager.launch(point)
            resumed += 1
            continue
        interrupted += await store.interrupt([thread_id], INTERRUPTED)
    if resumed or interrupted:
        log.info(
            "runs left by a stopped process: %d resumed, %d marked interrupted",
            resumed,
            interrupted,
        )


async def watch_local(manager: RunManager, store: Store, ttl: float) -> None:
    """Without Redis: every TTL, take over the runs of processes that died, until cancelled."""
    while True:
        await asyncio.sleep(ttl)
        try:
            await recover_local(manager, store, ttl)
        except Exception:
            log.warning("taking over expired runs failed", exc_info=True)


async def keep_leases(
    manager: RunManager, store: Store, links: RedisLinks | None, ttl: float
) -> None:
    """Renew the leases of this process's runs every third of the TTL, until cancelled. A
    renewal the database refuses (PostgreSQL can end it as one side of a deadlock with an event
    write) is tried again at once, a few times, not a third of the TTL later: two missed
    renewals in a row would let another runner take over runs that are alive here."""
    while True:
        await asyncio.sleep(ttl / 3)
        runs = manager.active_runs()
        if not runs:
            continue
        try:
            for attempt in range(RENEW_ATTEMPTS):
                try:
                    await store.renew(manager.instance_id, sorted(runs))
                    break
                except Exception:
                    if attempt == RENEW_ATTEMPTS - 1:
                        raise
                    log.info("renewing run leases failed, trying again", exc_info=True)
                    await asyncio.sleep(RENEW_RETRY_S * 2**attempt)
            if links is not None:
                for job in runs.values():
                    if job is not None:
                        await links.extend_job(job, ttl)
        except Exception:
            log.warning("renewing run leases failed", exc_info=True)


async def execute(
    manager: RunManager,
    store: Store,
    links: RedisLinks | None,
    thread_id: str,
    ttl: float,
    *,
    job: str | None = None,
) -> str:
    """Run (or resume) a queued thread here and wait for its end; returns what happened."""
    status = await manager.wait(thread_id)
    if status is not None:
        # arq handed the job out again while this process still runs it: that run's status.
        return status
    if not await claim_lease(store, manager.instance_id, thread_id, ttl):
        return "skipped: finished, or another live runner holds it"
    if links is not None and job is not None:
        await links.extend_job(job, ttl)
    point = await store.resume_point(thread_id)
    if point is None:
        return "skipped: nothing to run"
    run = await manager.launch(point, job)
    if links is not None and await links.cancel_requested(thread_id):
        run.cancel()
    return await manager.wait(thread_id) or (await run.result()).status
