"""The worker process: executes queued runs with arq, resuming those a dead worker left.

Each job runs one thread through `Service.execute` (role "worker": same gateway, orchestrator,
store writer, and the Redis bus as publisher). A job lives on arq's queue until it finishes;
when a worker dies, its in-progress marks expire within one lease TTL and arq gives the job to
another worker (a retry), which resumes the run from its completed rounds. A sweep also queues
again runs whose lease has been expired for a while, in case their job was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker, func

from orchestratex.core.errors import ConfigurationError
from orchestratex.runtime.scaleout import RUN_JOB, RedisLinks
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.store import leases

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 6 * 3600
MAX_TRIES = 20
POLL_DELAY_S = 0.2


async def run_thread(ctx: dict[str, Any], thread_id: str) -> str:
    """The arq job: run or resume one thread here until it ends."""
    service: Service = ctx["service"]
    job: str = ctx["job_id"]
    if ctx.get("job_try", 1) > 1:
        log.info("job %s: attempt %d", job, ctx["job_try"])
    return await service.execute(thread_id, job=job)


async def sweep_once(service: Service, links: RedisLinks) -> int:
    """Queue again runs whose lease expired a TTL ago (their job was lost); returns how many."""
    ttl = service.settings.lease_ttl_s
    queued = 0
    async with service.sessions() as session:
        stale = await leases.expired(session=session, ttl_s=ttl, claimed_only=True, grace_s=ttl)
        waiting = await leases.queued_since(session=session, seconds=4 * ttl)
        beats = {}
        for thread_id in stale:
            found = await leases.lease(session=session, thread_id=thread_id)
            if found is not None and found.heartbeat_at is not None:
                beats[thread_id] = int(found.heartbeat_at.timestamp())
    for thread_id, beat in beats.items():
        queued += await links.enqueue(thread_id, job=f"orx-resume-{thread_id}-{beat}")
    for thread_id in waiting:
        queued += await links.enqueue(thread_id)
    return queued


async def _sweep(service: Service, links: RedisLinks) -> None:
    while True:
        await asyncio.sleep(service.settings.lease_ttl_s)
        try:
            count = await sweep_once(service, links)
        except Exception:
            log.warning("sweeping expired runs failed", exc_info=True)
            continue
        if count:
            log.info("queued %d run(s) again whose runner is gone", count)


def build_worker(settings: Settings, *, concurrency: int | None = None) -> Worker:
    """An arq Worker running `run_thread` jobs with a worker-role Service."""
    if not settings.redis_url:
        raise ConfigurationError("the worker needs ORX_REDIS_URL (the job queue is in Redis)")
    service = Service(settings, role="worker")
    sweeper: list[asyncio.Task[None]] = []

    async def startup(ctx: dict[str, Any]) -> None:
        await service.start()
        ctx["service"] = service
        assert service.links is not None
        sweeper.append(asyncio.create_task(_sweep(service, service.links)))
        log.info("worker %s ready", service.instance_id)

    async def shutdown(ctx: dict[str, Any]) -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await service.stop()

    return Worker(
        functions=[func(run_thread, name=RUN_JOB, timeout=JOB_TIMEOUT_S, max_tries=MAX_TRIES)],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        max_jobs=concurrency or settings.worker_concurrency,
        poll_delay=POLL_DELAY_S,
        keep_result=3600,
        handle_signals=True,
    )


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run a worker until it is stopped (SIGINT or SIGTERM)."""
    worker = build_worker(settings, concurrency=concurrency)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await worker.async_run()
    finally:
        await worker.close()
