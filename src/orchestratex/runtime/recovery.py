"""Leases at run time: claim a thread, renew the leases of our runs, resume or interrupt.

A runner claims a thread before running it (store/leases.py). While its runs go on it renews
their leases every third of the TTL (and, in a worker, arq's in-progress marks of their jobs).
A new attempt resumes from the completed rounds, with the seq after the last stored one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from orchestratex.engine.run import Run
from orchestratex.store import leases
from orchestratex.store.tables import ACTIVE_STATUSES, utc_now

if TYPE_CHECKING:
    from orchestratex.runtime.service import Service

log = logging.getLogger(__name__)

CLAIM_ATTEMPTS = 3
INTERRUPTED = "the process running this run stopped before any round was complete"


async def claim_lease(service: Service, thread_id: str) -> bool:
    """Claim the thread for this runner, waiting out a lease that is about to expire.

    False when the thread has ended, or when its lease is renewed meanwhile (a live runner).
    """
    ttl = service.settings.lease_ttl_s
    seen: datetime | None = None
    for attempt in range(CLAIM_ATTEMPTS):
        async with service.sessions() as session:
            if await leases.claim(
                session=session, thread_id=thread_id, runner_id=service.instance_id, ttl_s=ttl
            ):
                return True
            current = await leases.lease(session=session, thread_id=thread_id)
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


async def launch_resumed(service: Service, thread_id: str, *, job: str | None = None) -> Run | None:
    """Start the claimed thread from its completed rounds; None when there is nothing to run."""
    async with service.sessions() as session:
        point = await leases.resume_point(session=session, thread_id=thread_id)
        if point is None:
            return None
        await leases.drop_partial_rounds(
            session=session, thread_id=thread_id, after=len(point.rounds)
        )
    if point.rounds:
        log.info("resuming run %s after round %d", thread_id, len(point.rounds))
    run = service.orchestrator.start(
        point.request,
        thread_id=thread_id,
        user_id=point.user_id,
        resume_rounds=point.rounds,
        first_seq=point.last_seq + 1,
    )
    service.adopt(run, point.user_id, job)
    return run


async def recover_local(service: Service) -> None:
    """At start-up without Redis: resume runs whose lease expired, else mark them interrupted."""
    ttl = service.settings.lease_ttl_s
    async with service.sessions() as session:
        expired = await leases.expired(session=session, ttl_s=ttl)
    resumed = interrupted = 0
    for thread_id in expired:
        if thread_id in service.active_runs():
            continue
        async with service.sessions() as session:
            if not await leases.claim(
                session=session, thread_id=thread_id, runner_id=service.instance_id, ttl_s=ttl
            ):
                continue
            point = await leases.resume_point(session=session, thread_id=thread_id)
        if point is not None and point.rounds:
            await launch_resumed(service, thread_id)
            resumed += 1
            continue
        async with service.sessions() as session:
            interrupted += await leases.interrupt(
                session=session, thread_ids=[thread_id], error=INTERRUPTED
            )
    if resumed or interrupted:
        log.info(
            "runs left by a stopped process: %d resumed, %d marked interrupted",
            resumed,
            interrupted,
        )


async def watch_local(service: Service) -> None:
    """Without Redis: every TTL, take over the runs of processes that died, until cancelled."""
    while True:
        await asyncio.sleep(service.settings.lease_ttl_s)
        try:
            await recover_local(service)
        except Exception:
            log.warning("taking over expired runs failed", exc_info=True)


async def keep_leases(service: Service) -> None:
    """Renew the leases of this process's runs every third of the TTL, until cancelled."""
    ttl = service.settings.lease_ttl_s
    while True:
        await asyncio.sleep(ttl / 3)
        runs = service.active_runs()
        if not runs:
            continue
        try:
            async with service.sessions() as session:
                await leases.renew(
                    session=session, runner_id=service.instance_id, thread_ids=list(runs)
                )
            if service.links is not None:
                for job in runs.values():
                    if job is not None:
                        await service.links.extend_job(job, ttl)
        except Exception:
            log.warning("renewing run leases failed", exc_info=True)
