"""Where a concurrent orchestration's memory goes: tracemalloc snapshots of the service.

Starts the fake provider (answering after `--latency-ms`, 60 s by default, so every run's model
call stays open) and the service as local processes (bench/procs.py, the setup of `orchestratex
bench memory`), with Python allocations traced in the service (`service_proc --tracemalloc`).
After two warm-up runs that reach their model call, tracing starts and a snapshot is taken;
then `--runs` orchestrations are submitted (POST /api/orchestrate/prompt), and once the service
reports them all active and the fake provider has that many calls open, a second snapshot is
taken. The
difference, per run, is printed as Markdown: by the package that allocated (innermost frame),
by the innermost frame of the project's own code, and the biggest single allocation sites.

Traced Python allocations are not RSS (the allocator's free lists, C libraries and fragmentation
are left out); `orchestratex bench memory` measures RSS.

    .venv/bin/python benchmarks/memory_profile.py --runs 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import httpx

from orchestratex.bench import loadgen, procs
from orchestratex.bench.service_probe import PROMPTS, active_runs

SNAPSHOT_LIMIT_S = 120.0
WARM_UP_RUNS = 2


def module_of(filename: str) -> str:
    """A dotted module-ish name for a source file: site-packages and stdlib parts stripped."""
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/", "/lib/python3.12/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def package_of(filename: str) -> str:
    parts = module_of(filename).split(".")
    if parts[0] == "orchestratex":
        return ".".join(parts[:2])
    return parts[0]


async def _snapshot(service: procs.Child, directory: Path, n: int) -> tracemalloc.Snapshot:
    service.process.send_signal(signal.SIGUSR1)
    done = directory / f"snapshot-{n}.done"
    deadline = time.monotonic() + SNAPSHOT_LIMIT_S
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no snapshot {n} within {SNAPSHOT_LIMIT_S:g} s")
        await asyncio.sleep(0.2)
    return tracemalloc.Snapshot.load(str(directory / f"snapshot-{n}.pickle"))


async def _wait_for(
    client: httpx.AsyncClient, service: procs.Child, fake: procs.Child, wanted: int
) -> tuple[int, int]:
    """Wait (bounded) until `wanted` runs are active and as many calls open at the fake."""
    active = in_flight = 0
    deadline = time.monotonic() + SNAPSHOT_LIMIT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # a kept-alive connection may be closed
            active = await active_runs(client, service.url)
            in_flight = int((await client.get(fake.url + "/stats")).json()["in_flight"])
        if active >= wanted and in_flight >= wanted:
            break
        await asyncio.sleep(0.5)
    return active, in_flight


def _table(title: str, sizes: dict[str, int], runs: int, top: int) -> list[str]:
    total = sum(sizes.values())
    lines = [f"| {title} | KiB / run | share |", "| --- | --- | --- |"]
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:top]:
        share = size / total * 100 if total else 0.0
        lines.append(f"| {name} | {size / runs / 1024:.2f} | {share:.0f}% |")
    return [*lines, ""]


def report(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, runs: int, top: int) -> str:
    skip = tracemalloc.Filter(False, tracemalloc.__file__)
    diffs = after.filter_traces([skip]).compare_to(before.filter_traces([skip]), "traceback")
    by_package: dict[str, int] = defaultdict(int)
    by_project: dict[str, int] = defaultdict(int)
    by_line: dict[str, int] = defaultdict(int)
    total = count = 0
    for stat in diffs:
        size = stat.size_diff
        if size == 0:
            continue
        total += size
        count += stat.count_diff
        frames = list(stat.traceback)  # most recent call last
        inner = frames[-1]
        by_package[package_of(inner.filename)] += size
        by_line[f"{module_of(inner.filename)}:{inner.lineno}"] += size
        project = next(
            (f for f in reversed(frames) if module_of(f.filename).startswith("orchestratex")),
            None,
        )
        where = (
            f"{module_of(project.filename)}:{project.lineno}" if project else "(no project frame)"
        )
        by_project[where] += size
    head = (
        f"{runs} runs: traced Python allocations grew {total / 1024:.0f} KiB "
        f"({total / runs / 1024:.1f} KiB per run, {count / runs:.0f} blocks per run)"
    )
    lines = [head, ""]
    lines += _table("allocating package (innermost frame)", by_package, runs, top)
    lines += _table("innermost project line", by_project, runs, top)
    lines += _table("allocating line", by_line, runs, top)
    return "\n".join(lines)


async def main(
    runs: int, latency_ms: float, top: int, log_copy: Path | None, keep: Path | None
) -> None:
    with procs.scratch_dir() as workdir:
        trace_dir = keep or workdir / "trace"
        trace_dir.mkdir(parents=True, exist_ok=True)
        async with (
            loadgen.make_client(20, timeout_s=120.0) as client,
            procs.fake_provider_process(latency_ms, workdir) as fake,
            procs.service_process(
                fake.url,
                workdir,
                requests_per_minute=10 * runs + 1000,
                name="memory-profile",
                extra_args=("--tracemalloc", str(trace_dir)),
            ) as service,
        ):
            submit = service.url + "/api/orchestrate/prompt"
            for i in range(WARM_UP_RUNS):
                await loadgen.post_json(submit, {"prompt": PROMPTS[i]}, expect=202)(client, i)
            await _wait_for(client, service, fake, WARM_UP_RUNS)
            await asyncio.sleep(1.0)
            before = await _snapshot(service, trace_dir, 1)

            async def one(c: httpx.AsyncClient, index: int) -> None:
                body = {"prompt": PROMPTS[index % len(PROMPTS)]}
                await loadgen.post_json(submit, body, expect=202)(c, index)

            stats = await loadgen.run_concurrent(client, one, concurrency=16, requests=runs)
            active, in_flight = await _wait_for(client, service, fake, runs + WARM_UP_RUNS)
            await asyncio.sleep(1.0)
            after = await _snapshot(service, trace_dir, 2)
            if log_copy is not None:
                await asyncio.to_thread(log_copy.write_bytes, service.log.read_bytes())
        print(
            f"submitted {stats.ok} ({stats.errors} errors); {active} runs active, "
            f"{in_flight} model calls open at the fake provider when the snapshot was taken\n"
        )
        print(report(before, after, stats.ok, top))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=60_000.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--service-log", type=Path, default=None, help="keep the service's log")
    parser.add_argument("--snapshots", type=Path, default=None, help="keep the snapshots here")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency_ms, args.top, args.service_log, args.snapshots))
