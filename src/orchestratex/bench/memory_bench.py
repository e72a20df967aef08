"""Memory per concurrent orchestration: many runs at once against a slow fake provider.

A fresh service process is warmed up (two runs that reach their model call) and its resident
memory is read. Then `runs` orchestrations are submitted through POST /api/orchestrate/prompt;
the fake provider answers after `latency_ms`, so the runs overlap. RSS (from /proc) and the
service's active-run gauge are sampled until every submitted run was seen active (bounded) and
a few seconds more. The result is the growth of RSS at its peak divided by the most runs seen
active at once, scaled to 1,000.

The fake provider's `max_in_flight` says how many of those runs had their model call open at
once. A run waiting before its call holds far less than one whose call is in flight, so the
figure compares only between measurements with the same share in flight. The default latency
(60 s) keeps every run's first call open until the measurement ends. The service is then
stopped, which interrupts the runs still going (they are not waited for).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from pydantic import BaseModel

from orchestratex.bench import loadgen, procs
from orchestratex.bench.service_probe import PROMPTS, active_runs

SAMPLE_EVERY_S = 0.25
AFTER_SUBMIT_S = 3.0
STARTED_LIMIT_S = 30.0
SUBMIT_CONCURRENCY = 32
WARM_UP_RUNS = 2


class MemoryResult(BaseModel):
    runs_requested: int
    runs_submitted: int
    submit_errors: int
    submit_error_kinds: dict[str, int]
    submit_wall_s: float
    fake_latency_ms: float
    peak_active_runs: int
    peak_upstream_in_flight: int
    """Most model calls open at once at the fake provider."""
    rss_base_mib: float
    rss_peak_mib: float
    mib_per_1000_runs: float


async def _sample(
    client: httpx.AsyncClient, service: procs.Child, peaks: dict[str, float], stop: asyncio.Event
) -> None:
    """Record the highest RSS and active-run count until `stop` is set.

    RSS is read on its own clock: a /metrics reply can be slow while the service is busy.
    """

    async def every(action: Callable[[], Awaitable[None]]) -> None:
        while not stop.is_set():
            await action()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)

    async def rss() -> None:
        peaks["rss"] = max(peaks["rss"], procs.rss_mib(service.pid))

    async def active() -> None:
        with contextlib.suppress(httpx.HTTPError):
            peaks["active"] = max(peaks["active"], await active_runs(client, service.url))

    await asyncio.gather(every(rss), every(active))


async def _all_started(peaks: dict[str, float], submitted: int, *, limit_s: float) -> None:
    """Wait (bounded) until the sampler has seen every submitted run active at once."""
    for _ in range(int(limit_s / SAMPLE_EVERY_S)):
        if peaks["active"] >= submitted:
            return
        await asyncio.sleep(SAMPLE_EVERY_S)


async def _active_at_least(
    client: httpx.AsyncClient, service: procs.Child, wanted: int, limit_s: float
) -> None:
    """Wait (bounded) until the service has at least `wanted` active runs."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if await active_runs(client, service.url) >= wanted:
                return
        await asyncio.sleep(0.2)


async def measure_memory(
    workdir: Path,
    *,
    runs: int = 1000,
    latency_ms: float = 60_000.0,
    limit_s: float = 60.0,
    max_concurrent: int | None = None,
) -> MemoryResult:
    """Submit `runs` orchestrations at once (submission bounded by `limit_s`) and measure RSS;
    `max_concurrent` caps the fake providers' calls open at once (the rest wait their turn)."""
    async with (
        loadgen.make_client(SUBMIT_CONCURRENCY + 4, timeout_s=120.0) as client,
        procs.fake_provider_process(latency_ms, workdir) as fake,
        procs.service_process(
            fake.url,
            workdir,
            requests_per_minute=10 * runs + 1000,
            name="memory-service",
            max_concurrent=max_concurrent,
        ) as service,
    ):
        submit = service.url + "/api/orchestrate/prompt"
        # Warm-up: runs that reach their model call, so what loads on first use is in the base.
        for i in range(WARM_UP_RUNS):
            await loadgen.post_json(submit, {"prompt": PROMPTS[i]}, expect=202)(client, i)
        await _active_at_least(client, service, WARM_UP_RUNS, limit_s=30.0)
        await asyncio.sleep(1.0)
        base = procs.rss_mib(service.pid)
        peaks = {"rss": base, "active": 0.0}
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample(client, service, peaks, stop))

        async def one(c: httpx.AsyncClient, index: int) -> None:
            body = {"prompt": PROMPTS[index % len(PROMPTS)]}
            await loadgen.post_json(submit, body, expect=202)(c, index)

        try:
            stats = await loadgen.run_concurrent(
                client, one, concurrency=SUBMIT_CONCURRENCY, requests=runs, duration_s=limit_s
            )
            await _all_started(peaks, stats.ok, limit_s=STARTED_LIMIT_S)
            await asyncio.sleep(AFTER_SUBMIT_S)
        finally:
            stop.set()
            await sampler
        in_flight = (await client.get(fake.url + "/stats")).json()["max_in_flight"]
    active = int(peaks["active"])
    growth = peaks["rss"] - base
    return MemoryResult(
        runs_requested=runs,
        runs_submitted=stats.ok,
        submit_errors=stats.errors,
        submit_error_kinds=stats.error_kinds,
        submit_wall_s=stats.wall_s,
        fake_latency_ms=latency_ms,
        peak_active_runs=active,
        peak_upstream_in_flight=int(in_flight),
        rss_base_mib=round(base, 1),
        rss_peak_mib=round(peaks["rss"], 1),
        mib_per_1000_runs=round(growth / active * 1000.0, 1) if active else 0.0,
    )


def format_memory(result: MemoryResult) -> str:
    r = result
    return "\n".join(
        [
            f"{r.runs_submitted} of {r.runs_requested} orchestrations submitted in "
            f"{r.submit_wall_s:.1f} s ({r.submit_errors} errors {r.submit_error_kinds or ''}), "
            f"fake provider at {r.fake_latency_ms:g} ms",
            f"peak {r.peak_active_runs} runs active at once, "
            f"{r.peak_upstream_in_flight} model calls open at once; RSS {r.rss_base_mib:.1f} -> "
            f"{r.rss_peak_mib:.1f} MiB: {r.mib_per_1000_runs:.1f} MiB per 1,000 runs",
        ]
    )
