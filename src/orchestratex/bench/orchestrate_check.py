"""Many orchestrations submitted at once on SQLite: every submission accepted, every run ends.

A fresh service (SQLite in a temporary data directory) and the fake provider run as local
processes. `runs` POST /api/orchestrate/prompt are sent all at once (one connection each), with
the default request (up to 3 rounds, 2 judges); then each run's status is polled until it is
terminal (completed, failed, cancelled or interrupted) or `limit_s` passed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
from pydantic import BaseModel

from orchestratex.bench import loadgen, procs
from orchestratex.bench.service_probe import PROMPTS

TERMINAL = frozenset({"completed", "failed", "cancelled", "interrupted"})
POLL_EVERY_S = 0.5


class ConcurrencyResult(BaseModel):
    runs_requested: int
    submitted: int
    submit_errors: int
    submit_error_kinds: dict[str, int]
    submit_wall_s: float
    fake_latency_ms: float
    statuses: dict[str, int]
    """Last seen status of each submitted run."""
    all_terminal: bool
    completed: int
    finish_wall_s: float
    """From the first submission until every run was terminal (or the limit)."""
    rss_peak_mib: float
    upstream_calls: int


def tally_statuses(statuses: dict[str, str]) -> tuple[dict[str, int], bool]:
    """Count per status; True when every run is terminal."""
    counts = Counter(statuses.values())
    return dict(sorted(counts.items())), all(s in TERMINAL for s in statuses.values())


async def _poll(
    client: httpx.AsyncClient, url: str, ids: list[str], limit_s: float
) -> dict[str, str]:
    """Each run's status, polled until all are terminal or `limit_s` passed."""
    last = dict.fromkeys(ids, "unknown")
    deadline = time.monotonic() + limit_s
    while True:
        for thread_id, status in list(last.items()):
            if status in TERMINAL:
                continue
            reply = await client.get(f"{url}/api/orchestrate/status/{thread_id}")
            if reply.status_code == 200:
                last[thread_id] = str(reply.json()["status"])
        if all(s in TERMINAL for s in last.values()) or time.monotonic() > deadline:
            return last
        await asyncio.sleep(POLL_EVERY_S)


async def check_concurrent_orchestrations(
    workdir: Path, *, runs: int = 100, latency_ms: float = 50.0, limit_s: float = 300.0
) -> ConcurrencyResult:
    ids: list[str] = []
    peak = 0.0
    async with (
        loadgen.make_client(runs + 4, timeout_s=120.0) as client,
        procs.fake_provider_process(latency_ms, workdir) as fake,
        procs.service_process(
            fake.url, workdir, requests_per_minute=10 * runs + 1000, name="concurrency-service"
        ) as service,
    ):
        submit = service.url + "/api/orchestrate/prompt"

        async def one(c: httpx.AsyncClient, index: int) -> None:
            reply = await c.post(submit, json={"prompt": PROMPTS[index % len(PROMPTS)]})
            if reply.status_code != 202:
                raise loadgen.HttpStatusError(reply.status_code)
            ids.append(str(reply.json()["thread_id"]))

        started = time.monotonic()
        stats = await loadgen.run_concurrent(client, one, concurrency=runs, requests=runs)
        poller = asyncio.create_task(_poll(client, service.url, ids, limit_s))
        while not poller.done():
            peak = max(peak, procs.rss_mib(service.pid))
            await asyncio.wait({poller}, timeout=0.25)
        statuses = poller.result()
        finished = time.monotonic() - started
        calls = (await client.get(fake.url + "/stats")).json()["requests_total"]
    counts, terminal = tally_statuses(statuses)
    return ConcurrencyResult(
        runs_requested=runs,
        submitted=stats.ok,
        submit_errors=stats.errors,
        submit_error_kinds=stats.error_kinds,
        submit_wall_s=stats.wall_s,
        fake_latency_ms=latency_ms,
        statuses=counts,
        all_terminal=terminal and stats.ok == runs,
        completed=counts.get("completed", 0),
        finish_wall_s=round(finished, 2),
        rss_peak_mib=round(peak, 1),
        upstream_calls=int(calls),
    )


def format_result(result: ConcurrencyResult) -> str:
    r = result
    verdict = "all terminal" if r.all_terminal else "NOT all terminal"
    return "\n".join(
        [
            f"{r.runs_requested} concurrent POST /api/orchestrate/prompt (SQLite, fake provider "
            f"at {r.fake_latency_ms:g} ms): {r.submitted} accepted, {r.submit_errors} errors "
            f"{r.submit_error_kinds or ''}",
            f"runs: {verdict}; statuses {r.statuses}; {r.upstream_calls} upstream calls",
            f"submitted in {r.submit_wall_s:.1f} s, all ended after {r.finish_wall_s:.1f} s; "
            f"service RSS peak {r.rss_peak_mib:.1f} MiB",
        ]
    )
