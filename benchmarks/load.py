"""Load test: a steady mixed request rate on the service for a while, on loopback.

Starts the fake provider (a test tool, `--latency-ms` per answer) and the service as local
processes, warms the service up, then holds `--rate` requests per second for `--duration`
seconds: a share `--orchestrate-share` goes to POST /api/orchestrate/prompt (a full run in the
background: the latency is that of the 202 reply), the rest to POST /v1/chat/completions with
`orchestratex/auto` (the latency is that of the whole answer). Afterwards it waits up to
`--drain` seconds for the background runs to end. Reports throughput, p50/p99 latency and
errors per endpoint, the runs' outcomes, and the service's resident memory at start and end.
Prints one JSON object. The service's own per-user request limit is raised for the test.

    .venv/bin/python benchmarks/load.py                   # 60 s at 2 requests/s
    .venv/bin/python benchmarks/load.py --duration 10 --rate 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

import httpx

from orchestratex.api.openai_schema import AUTO_MODEL
from orchestratex.bench import loadgen, procs
from orchestratex.bench.service_probe import PROMPTS, active_runs, chat_body, metric_value

RUN_STATUSES = ("completed", "failed", "cancelled")


async def _warm_up(client: httpx.AsyncClient, service_url: str) -> None:
    """First calls load SDK clients, tokenizers and price data; they are not measured."""
    for i in range(3):
        await loadgen.post_json(service_url + "/v1/chat/completions", chat_body(AUTO_MODEL, i))(
            client, i
        )


async def _drain(client: httpx.AsyncClient, service_url: str, limit_s: float) -> float:
    """Wait until no run is active or `limit_s` passed; returns the seconds waited."""
    start = time.monotonic()
    for _ in range(int(limit_s / 0.25) + 1):
        if await active_runs(client, service_url) == 0 or time.monotonic() - start > limit_s:
            break
        await asyncio.sleep(0.25)
    return round(time.monotonic() - start, 2)


async def _run_counts(client: httpx.AsyncClient, service_url: str) -> dict[str, int]:
    counts = {
        status: int(
            await metric_value(client, service_url, f'orchestratex_runs_total{{status="{status}"}}')
        )
        for status in RUN_STATUSES
    }
    counts["started"] = int(
        await metric_value(client, service_url, "orchestratex_runs_started_total")
    )
    counts["active"] = await active_runs(client, service_url)
    return counts


async def _peak_rss(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], procs.rss_mib(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def run_load(
    *,
    duration_s: float,
    rate_per_s: float,
    orchestrate_share: float,
    latency_ms: float,
    drain_s: float,
) -> dict[str, Any]:
    machine = procs.machine_info()
    chat_rate = rate_per_s * (1.0 - orchestrate_share)
    submit_rate = rate_per_s * orchestrate_share
    with procs.scratch_dir() as scratch:
        async with (
            loadgen.make_client(256, timeout_s=120.0) as client,
            procs.fake_provider_process(latency_ms, scratch) as fake,
            procs.service_process(fake.url, scratch, requests_per_minute=10_000_000) as service,
        ):
            await _warm_up(client, service.url)
            await _drain(client, service.url, 30.0)
            before = await _run_counts(client, service.url)
            rss_start = procs.rss_mib(service.pid)
            cpu_start = procs.cpu_seconds(service.pid)
            peak = [rss_start]
            stop = asyncio.Event()
            sampler = asyncio.create_task(_peak_rss(service.pid, peak, stop))

            async def submit(c: httpx.AsyncClient, index: int) -> None:
                body = {"prompt": PROMPTS[index % len(PROMPTS)]}
                await loadgen.post_json(service.url + "/api/orchestrate/prompt", body, expect=202)(
                    c, index
                )

            async def chat(c: httpx.AsyncClient, index: int) -> None:
                body = chat_body(AUTO_MODEL, index)
                await loadgen.post_json(service.url + "/v1/chat/completions", body)(c, index)

            phases: dict[str, Any] = {}
            try:
                jobs = {
                    name: loadgen.run_rate(client, call, rate_per_s=rate, duration_s=duration_s)
                    for name, call, rate in (
                        ("chat_completions", chat, chat_rate),
                        ("orchestrate_prompt", submit, submit_rate),
                    )
                    if rate > 0
                }
                results = await asyncio.gather(*jobs.values())
                phases = {
                    name: stats.model_dump() for name, stats in zip(jobs, results, strict=True)
                }
                rss_after_requests = procs.rss_mib(service.pid)
                drained = await _drain(client, service.url, drain_s)
            finally:
                stop.set()
                await sampler
            after = await _run_counts(client, service.url)
            cpu = procs.cpu_seconds(service.pid) - cpu_start
            rss_end = procs.rss_mib(service.pid)
    ok = sum(p["ok"] for p in phases.values())
    wall = max((p["wall_s"] for p in phases.values()), default=0.0)
    runs = {key: after[key] - before[key] for key in (*RUN_STATUSES, "started")}
    runs["still_active"] = after["active"]
    return {
        "machine": machine.model_dump(),
        "load_average_after": procs.machine_info().load_average,
        "settings": {
            "duration_s": duration_s,
            "rate_per_s": rate_per_s,
            "orchestrate_share": orchestrate_share,
            "fake_latency_ms": latency_ms,
        },
        "endpoints": phases,
        "throughput_per_s": round(ok / wall, 2) if wall else 0.0,
        "errors": sum(p["errors"] for p in phases.values()),
        "runs": runs,
        "drain_s": drained,
        "service_cpu_s": round(cpu, 2),
        "rss_mib": {
            "start": round(rss_start, 1),
            "after_requests": round(rss_after_requests, 1),
            "end": round(rss_end, 1),
            "peak": round(peak[0], 1),
            "growth": round(rss_end - rss_start, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of steady load")
    parser.add_argument("--rate", type=float, default=2.0, help="requests per second, in all")
    parser.add_argument(
        "--orchestrate-share", type=float, default=0.5, help="share sent to /api/orchestrate"
    )
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fake provider delay")
    parser.add_argument("--drain", type=float, default=60.0, help="max seconds to wait for runs")
    args = parser.parse_args()
    if not 0.0 <= args.orchestrate_share <= 1.0:
        parser.error("--orchestrate-share must be within 0..1")
    report = asyncio.run(
        run_load(
            duration_s=args.duration,
            rate_per_s=args.rate,
            orchestrate_share=args.orchestrate_share,
            latency_ms=args.latency_ms,
            drain_s=args.drain,
        )
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
