"""Service overhead: latency direct vs through the service, sustained throughput, memory per run.

Three processes on loopback: the fake provider (a test tool), the service, and this client.
- Latency: the fake provider's /v1/chat/completions called directly, against the service's
  /v1/chat/completions with `orchestratex/auto`, at concurrency 1 and 64. The fake provider's
  counters give the upstream calls per service request.
- Throughput: closed-loop concurrency ramps up until errors, p99 or a flat throughput stop it.
- Memory: bench/memory_bench.py (many runs at once against a slow fake provider).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from orchestratex.api.openai_schema import AUTO_MODEL
from orchestratex.bench import loadgen, procs
from orchestratex.bench.loadgen import Call, LoadStats
from orchestratex.bench.memory_bench import MemoryResult, measure_memory
from orchestratex.bench.service_probe import chat_body, fake_completions

DIRECT_MODEL = "fake-gpt-large"
"""The fake model id called directly (any id works; this is fake-gpt's)."""
UNLIMITED_PER_MINUTE = 10_000_000
RAMP = (1, 2, 4, 8, 16, 32, 64, 128)
FLAT_STEPS = 2
"""The ramp stops after this many steps in a row without 5% more throughput than the best."""


class LatencyPhase(BaseModel):
    target: str
    """direct (non-stream), direct_stream, or service (orchestratex/auto, non-stream)."""
    concurrency: int
    stats: LoadStats
    upstream_calls_per_request: float | None = None
    service_cpu_ms_per_request: float | None = None


class Overhead(BaseModel):
    """What the service adds on top of its upstream calls, at one concurrency (p50 figures)."""

    concurrency: int
    direct_p50_ms: float
    direct_stream_p50_ms: float
    service_p50_ms: float
    upstream_calls_per_request: float
    expected_upstream_ms: float
    """One streamed generation plus (calls - 1) non-stream calls, each at its direct p50."""
    overhead_per_request_ms: float
    overhead_per_call_ms: float


class ThroughputResult(BaseModel):
    steps: list[LoadStats]
    sustained_rps: float
    at_concurrency: int
    p99_limit_ms: float
    stopped_because: str


class OverheadReport(BaseModel):
    machine: procs.MachineInfo
    load_average_after: tuple[float, float, float]
    requests_per_phase: int
    phase_limit_s: float
    latency: list[LatencyPhase]
    overhead: list[Overhead]
    throughput: ThroughputResult
    memory: MemoryResult
    wall_s: float


def _calls(url: str, model: str, *, stream: bool = False) -> Call:
    """Chat-completions calls cycling through the benchmark prompts."""

    async def call(client: httpx.AsyncClient, index: int) -> None:
        body = chat_body(model, index, stream=stream)
        if stream:
            await loadgen.post_stream(url, body)(client, index)
        else:
            await loadgen.post_json(url, body)(client, index)

    return call


async def _service_phase(
    client: httpx.AsyncClient,
    fake: procs.Child,
    service: procs.Child,
    *,
    concurrency: int,
    requests: int,
    limit_s: float,
) -> LatencyPhase:
    """Load the service; also counts upstream calls and service CPU time per request."""
    call = _calls(service.url + "/v1/chat/completions", AUTO_MODEL)
    calls_before = await fake_completions(client, fake.url)
    cpu_before = procs.cpu_seconds(service.pid)
    stats = await loadgen.run_concurrent(
        client, call, concurrency=concurrency, requests=requests, duration_s=limit_s
    )
    cpu = procs.cpu_seconds(service.pid) - cpu_before
    calls = await fake_completions(client, fake.url) - calls_before
    done = max(stats.ok, 1)
    return LatencyPhase(
        target="service",
        concurrency=concurrency,
        stats=stats,
        upstream_calls_per_request=round(calls / done, 2),
        service_cpu_ms_per_request=round(cpu * 1000.0 / done, 1),
    )


def _overhead(direct: LoadStats, stream: LoadStats, service: LatencyPhase) -> Overhead:
    calls = service.upstream_calls_per_request or 1.0
    expected = stream.p50_ms + max(calls - 1.0, 0.0) * direct.p50_ms
    extra = service.stats.p50_ms - expected
    return Overhead(
        concurrency=service.concurrency,
        direct_p50_ms=direct.p50_ms,
        direct_stream_p50_ms=stream.p50_ms,
        service_p50_ms=service.stats.p50_ms,
        upstream_calls_per_request=calls,
        expected_upstream_ms=round(expected, 2),
        overhead_per_request_ms=round(extra, 2),
        overhead_per_call_ms=round(extra / calls, 2),
    )


async def _ramp(
    client: httpx.AsyncClient, service_url: str, *, step_s: float, p99_limit_ms: float
) -> ThroughputResult:
    """Raise concurrency step by step; the best step within the limits is the sustained rate."""
    call = _calls(service_url + "/v1/chat/completions", AUTO_MODEL)
    steps: list[LoadStats] = []
    best: LoadStats | None = None
    stopped = f"reached concurrency {RAMP[-1]}"
    flat = 0
    for concurrency in RAMP:
        stats = await loadgen.run_concurrent(
            client, call, concurrency=concurrency, duration_s=step_s
        )
        steps.append(stats)
        if stats.errors > 0.01 * max(stats.sent, 1):
            stopped = f"errors at concurrency {concurrency}"
            break
        if stats.p99_ms > p99_limit_ms:
            stopped = f"p99 above {p99_limit_ms:g} ms at concurrency {concurrency}"
            break
        if best is None or stats.throughput_per_s > best.throughput_per_s:
            rising = best is None or stats.throughput_per_s >= 1.05 * best.throughput_per_s
            best = stats
        else:
            rising = False
        flat = 0 if rising else flat + 1
        if flat == FLAT_STEPS:
            stopped = f"throughput stopped rising at concurrency {concurrency}"
            break
    return ThroughputResult(
        steps=steps,
        sustained_rps=best.throughput_per_s if best else 0.0,
        at_concurrency=(best.concurrency or 0) if best else 0,
        p99_limit_ms=p99_limit_ms,
        stopped_because=stopped,
    )


async def _latency(
    client: httpx.AsyncClient,
    fake: procs.Child,
    service: procs.Child,
    *,
    concurrencies: tuple[int, ...],
    requests: int,
    limit_s: float,
) -> tuple[list[LatencyPhase], list[Overhead]]:
    direct_url = fake.url + "/v1/chat/completions"
    phases: list[LatencyPhase] = []
    overheads: list[Overhead] = []
    for concurrency in concurrencies:
        n = max(requests, concurrency)
        for stream_it in (False, True):  # open the pooled connections before measuring
            warm = _calls(direct_url, DIRECT_MODEL, stream=stream_it)
            await loadgen.run_concurrent(
                client, warm, concurrency=concurrency, requests=concurrency
            )
        direct = await loadgen.run_concurrent(
            client,
            _calls(direct_url, DIRECT_MODEL),
            concurrency=concurrency,
            requests=n,
            duration_s=limit_s,
        )
        stream = await loadgen.run_concurrent(
            client,
            _calls(direct_url, DIRECT_MODEL, stream=True),
            concurrency=concurrency,
            requests=n,
            duration_s=limit_s,
        )
        through = await _service_phase(
            client, fake, service, concurrency=concurrency, requests=n, limit_s=limit_s
        )
        phases += [
            LatencyPhase(target="direct", concurrency=concurrency, stats=direct),
            LatencyPhase(target="direct_stream", concurrency=concurrency, stats=stream),
            through,
        ]
        overheads.append(_overhead(direct, stream, through))
    return phases, overheads


async def _warm_up(client: httpx.AsyncClient, fake: procs.Child, service: procs.Child) -> None:
    """First calls load SDK clients, tokenizers and price data; they are not measured."""
    for i in range(3):
        await _calls(service.url + "/v1/chat/completions", AUTO_MODEL)(client, i)
    for i in range(10):
        await _calls(fake.url + "/v1/chat/completions", DIRECT_MODEL)(client, i)


async def run_overhead_bench(
    *,
    requests: int = 200,
    duration_s: float = 20.0,
    concurrencies: tuple[int, ...] = (1, 64),
    ramp_step_s: float = 8.0,
    p99_limit_ms: float = 10_000.0,
    memory_runs: int = 1000,
    memory_latency_ms: float = 2000.0,
    workdir: Path | None = None,
) -> OverheadReport:
    """Measure everything; `requests` and `duration_s` bound each latency phase."""
    started = time.perf_counter()
    machine = procs.machine_info()
    with procs.scratch_dir() as scratch:
        where = workdir or scratch
        connections = max(max(concurrencies), RAMP[-1])
        async with (
            loadgen.make_client(connections, timeout_s=120.0) as client,
            procs.fake_provider_process(0.0, where) as fake,
            procs.service_process(
                fake.url, where, requests_per_minute=UNLIMITED_PER_MINUTE
            ) as service,
        ):
            await _warm_up(client, fake, service)
            phases, overheads = await _latency(
                client,
                fake,
                service,
                concurrencies=concurrencies,
                requests=requests,
                limit_s=duration_s,
            )
            throughput = await _ramp(
                client, service.url, step_s=ramp_step_s, p99_limit_ms=p99_limit_ms
            )
        memory = await measure_memory(
            where, runs=memory_runs, latency_ms=memory_latency_ms, limit_s=max(duration_s, 30.0)
        )
    return OverheadReport(
        machine=machine,
        load_average_after=procs.machine_info().load_average,
        requests_per_phase=requests,
        phase_limit_s=duration_s,
        latency=phases,
        overhead=overheads,
        throughput=throughput,
        memory=memory,
        wall_s=round(time.perf_counter() - started, 1),
    )


def format_report(report: OverheadReport) -> str:
    """A short text summary of the report."""
    m = report.machine
    lines = [
        f"machine: {m.cpu_model}, {m.cores} cores, {m.ram_gib} GiB, Python {m.python}; "
        f"load average before {m.load_average[0]:.2f}, after {report.load_average_after[0]:.2f}",
        "latency (ms)      target         conc   ok  err    p50     p99",
    ]
    for p in report.latency:
        s = p.stats
        lines.append(
            f"                  {p.target:<14} {p.concurrency:>4} {s.ok:>4} {s.errors:>4} "
            f"{s.p50_ms:>7.1f} {s.p99_ms:>7.1f}"
        )
    for o in report.overhead:
        lines.append(
            f"overhead @{o.concurrency}: {o.upstream_calls_per_request:g} upstream calls/request, "
            f"{o.overhead_per_request_ms:.1f} ms/request, {o.overhead_per_call_ms:.1f} ms/call"
        )
    for p in report.latency:
        if p.service_cpu_ms_per_request is not None:
            lines.append(
                f"service CPU @{p.concurrency}: {p.service_cpu_ms_per_request:.1f} ms/request"
            )
    t = report.throughput
    lines.append(
        f"sustained throughput: {t.sustained_rps:.1f} requests/s at concurrency "
        f"{t.at_concurrency} ({t.stopped_because})"
    )
    mem = report.memory
    lines.append(
        f"memory: {mem.mib_per_1000_runs:.1f} MiB per 1,000 runs "
        f"(peak {mem.peak_active_runs} active, RSS {mem.rss_base_mib:.1f} -> "
        f"{mem.rss_peak_mib:.1f} MiB)"
    )
    lines.append(f"wall time: {report.wall_s:.0f} s")
    return "\n".join(lines)
