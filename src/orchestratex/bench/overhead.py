"""Added latency, CPU and throughput of OrchestrateX's /v1 against the LiteLLM proxy.

Processes on loopback: the fake provider (a test tool, answering at once), the service, the
LiteLLM proxy (bench/litellm_proxy.py, its own virtual environment) and this client. Paths
measured, all `POST /v1/chat/completions` (non-stream, or streamed and read to the end with
`stream=True`):
- OrchestrateX with a named catalog model (`fake-gpt`, or `--model`: any fake catalog model,
  such as `fake-claude`, which the service calls on the Anthropic Messages protocol),
- OrchestrateX with `orchestratex/auto`,
- LiteLLM with the same model (`openai/fake-gpt-large` upstream; `anthropic/...` for an
  Anthropic-protocol model).
Calling the fake provider directly on the named model's own protocol (`/v1/chat/completions`
or `/v1/messages`) gives the upstream's own time. Latency is measured at
concurrency 1 in blocks that alternate between the targets (so that the load of the shared
machine falls on all of them alike); throughput at a fixed concurrency for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from orchestratex.api.openai_schema import AUTO_MODEL
from orchestratex.bench import litellm_proxy, loadgen, procs
from orchestratex.bench.loadgen import Call, LoadStats
from orchestratex.bench.service_probe import chat_body, fake_completions, messages_body
from orchestratex.core.catalog import ModelSpec
from orchestratex.testing.fake_catalog import FAKE_ANTHROPIC, FAKE_MODELS

NAMED_MODEL = "fake-gpt"
"""The catalog model named on /v1 by default, and the model name LiteLLM is configured with."""
CHAT_PATH = "/v1/chat/completions"
MESSAGES_PATH = "/v1/messages"
UNLIMITED_PER_MINUTE = 10_000_000
WARM_UP_CALLS = 5
"""First calls load SDK clients and price data (seconds for LiteLLM); not measured."""
IDLE_S = 2.0
"""Seconds with no request during which each process's own background CPU use is read."""


class Target(BaseModel):
    """One path under test."""

    name: str
    """named, auto or litellm (direct: the fake provider itself)."""
    label: str
    url: str
    model: str
    pid: int
    headers: dict[str, str] = {}
    stream: bool = False
    """Ask for a streamed reply (SSE) and read it to its end."""
    path: str = CHAT_PATH
    """The route called: chat completions, or Messages (the fake provider's Anthropic side)."""


class PathResult(BaseModel):
    name: str
    label: str
    latency: LoadStats
    """Concurrency 1, all blocks pooled."""
    upstream_calls_per_request: float
    """From the fake provider's /stats before and after the latency blocks."""
    added_p50_ms_per_call: float
    added_p90_ms_per_call: float
    cpu_ms_per_request: float
    """CPU time of the process (and its children) during the latency blocks / requests."""
    throughput: LoadStats | None = None


class LiteLLMStatus(BaseModel):
    available: bool
    requirement: str = litellm_proxy.LITELLM_REQUIREMENT
    venv: str
    detail: str
    """Why it is missing, or how it was installed (the commands run on first use)."""


class OverheadReport(BaseModel):
    machine: procs.MachineInfo
    load_average_after: tuple[float, float, float]
    requests: int
    blocks: int
    model: str = NAMED_MODEL
    """The named catalog model (path `named`)."""
    protocol: str = "openai"
    """Its wire protocol: what the service (and LiteLLM) speak upstream, and the direct path."""
    stream: bool = False
    """Streamed replies (`stream: true`) on every path, the upstream's included."""
    throughput_concurrency: int
    throughput_s: float
    keyed: bool = False
    """Whether the service had an API key (each request carried it) or was in open mode."""
    direct: LoadStats
    """The fake provider called directly at concurrency 1: the upstream's own time."""
    paths: list[PathResult]
    idle_cpu_ms_per_s: dict[str, float] = {}
    """CPU used per second with no request in flight, per process (`service`, `litellm`)."""
    litellm: LiteLLMStatus
    wall_s: float


def added_per_call(latencies_ms: list[float], calls: float, upstream_ms: float) -> list[float]:
    """Per request: (end-to-end - calls x the upstream's own time) / calls."""
    per = max(calls, 1.0)
    return [(value - calls * upstream_ms) / per for value in latencies_ms]


def fake_model(key: str) -> ModelSpec:
    """The fake catalog model `key` (ValueError naming the choices when there is none)."""
    for spec in FAKE_MODELS:
        if spec.key == key:
            return spec
    known = ", ".join(spec.key for spec in FAKE_MODELS)
    raise ValueError(f"{key!r} is not a fake catalog model (one of: {known})")


def protocol_of(spec: ModelSpec) -> str:
    return "anthropic" if spec.provider == FAKE_ANTHROPIC else "openai"


def _call(target: Target) -> Call:
    url = target.url + target.path
    make_body = messages_body if target.path == MESSAGES_PATH else chat_body

    async def call(client: httpx.AsyncClient, index: int) -> None:
        body = make_body(target.model, index, stream=target.stream)
        send = loadgen.post_stream if target.stream else loadgen.post_json
        await send(url, body, headers=target.headers or None)(client, index)

    return call


class _Tally:
    """Latency blocks of one target, with the upstream calls and CPU time they caused."""

    def __init__(self) -> None:
        self.parts: list[LoadStats] = []
        self.calls = 0
        self.cpu_s = 0.0


async def _block(
    client: httpx.AsyncClient, fake: procs.Child, target: Target, tally: _Tally, n: int
) -> None:
    calls_before = await fake_completions(client, fake.url)
    cpu_before = procs.tree_cpu_seconds(target.pid)
    stats = await loadgen.run_concurrent(client, _call(target), concurrency=1, requests=n)
    tally.cpu_s += procs.tree_cpu_seconds(target.pid) - cpu_before
    tally.calls += await fake_completions(client, fake.url) - calls_before
    tally.parts.append(stats)


def _result(target: Target, tally: _Tally, upstream_ms: float) -> PathResult:
    latency = loadgen.merge(tally.parts)
    done = max(latency.ok, 1)
    calls = tally.calls / done
    added = added_per_call(latency.latencies_ms, calls, upstream_ms)
    return PathResult(
        name=target.name,
        label=target.label,
        latency=latency,
        upstream_calls_per_request=round(calls, 2),
        added_p50_ms_per_call=round(loadgen.percentile(added, 50), 2),
        added_p90_ms_per_call=round(loadgen.percentile(added, 90), 2),
        cpu_ms_per_request=round(tally.cpu_s * 1000.0 / done, 2),
    )


async def _measure(
    client: httpx.AsyncClient,
    fake: procs.Child,
    targets: list[Target],
    named: ModelSpec,
    *,
    requests: int,
    blocks: int,
    throughput_concurrency: int,
    throughput_s: float,
) -> tuple[LoadStats, list[PathResult], dict[str, float]]:
    direct = Target(
        name="direct",
        label="fake provider direct",
        url=fake.url,
        model=named.model_id,
        pid=fake.pid,
        stream=targets[0].stream if targets else False,
        path=MESSAGES_PATH if protocol_of(named) == "anthropic" else CHAT_PATH,
    )
    for target in [direct, *targets]:
        for i in range(WARM_UP_CALLS):
            await _call(target)(client, i)
    idle = await _idle_cpu(targets)
    tallies = {t.name: _Tally() for t in [direct, *targets]}
    per_block = max(1, requests // blocks)
    for _ in range(blocks):
        for target in [direct, *targets]:
            await _block(client, fake, target, tallies[target.name], per_block)
    upstream = loadgen.merge(tallies["direct"].parts)
    results = [_result(t, tallies[t.name], upstream.p50_ms) for t in targets]
    for target, result in zip(targets, results, strict=True):
        result.throughput = await loadgen.run_concurrent(
            client, _call(target), concurrency=throughput_concurrency, duration_s=throughput_s
        )
    return upstream, results, idle


async def _idle_cpu(targets: list[Target]) -> dict[str, float]:
    """Background CPU of each process over IDLE_S seconds without requests (ms per second)."""
    pids = {("service" if t.name in ("named", "auto") else t.name): t.pid for t in targets}
    before = {name: procs.tree_cpu_seconds(pid) for name, pid in pids.items()}
    await asyncio.sleep(IDLE_S)  # the measurement interval itself
    return {
        name: round((procs.tree_cpu_seconds(pid) - before[name]) * 1000.0 / IDLE_S, 2)
        for name, pid in pids.items()
    }


def _service_targets(service: procs.Child, stream: bool, named: str) -> list[Target]:
    return [
        Target(
            name="named",
            label=f"OrchestrateX /v1 `{named}`",
            url=service.url,
            model=named,
            pid=service.pid,
            headers=service.headers,
            stream=stream,
        ),
        Target(
            name="auto",
            label=f"OrchestrateX /v1 `{AUTO_MODEL}`",
            url=service.url,
            model=AUTO_MODEL,
            pid=service.pid,
            headers=service.headers,
            stream=stream,
        ),
    ]


async def run_overhead_bench(
    *,
    requests: int = 200,
    blocks: int = 4,
    throughput_concurrency: int = 16,
    throughput_s: float = 15.0,
    litellm: bool = True,
    litellm_venv: Path | None = None,
    workdir: Path | None = None,
    keyed: bool = True,
    stream: bool = False,
    model: str = NAMED_MODEL,
) -> OverheadReport:
    """Measure every path; `requests` per target at concurrency 1, in `blocks` blocks.

    `model`: the fake catalog model of the `named` path (ValueError when there is none).

    `keyed`: the service has an API key and every request carries it (as the LiteLLM proxy
    has its master key); else it runs in open mode, where every request asks the database
    whether a key exists yet (runtime/key_cache.py)."""
    named = fake_model(model)
    started = time.perf_counter()
    machine = procs.machine_info()
    venv = litellm_venv or litellm_proxy.DEFAULT_VENV
    status = LiteLLMStatus(available=False, venv=str(venv), detail="skipped (--no-litellm)")
    with procs.scratch_dir() as scratch:
        where = workdir or scratch
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                loadgen.make_client(throughput_concurrency + 4, timeout_s=120.0)
            )
            fake = await stack.enter_async_context(procs.fake_provider_process(0.0, where))
            service = await stack.enter_async_context(
                procs.service_process(
                    fake.url, where, requests_per_minute=UNLIMITED_PER_MINUTE, keyed=keyed
                )
            )
            targets = _service_targets(service, stream, named.key)
            if litellm:
                status, proxy = await _start_litellm(stack, fake, where, venv, named)
                if proxy is not None:
                    targets.append(
                        Target(
                            name="litellm",
                            label=f"LiteLLM proxy `{protocol_of(named)}/{named.model_id}`",
                            url=proxy.child.url,
                            model=proxy.model,
                            pid=proxy.child.pid,
                            headers=proxy.headers,
                            stream=stream,
                        )
                    )
            direct, paths, idle = await _measure(
                client,
                fake,
                targets,
                named,
                requests=requests,
                blocks=blocks,
                throughput_concurrency=throughput_concurrency,
                throughput_s=throughput_s,
            )
    return OverheadReport(
        machine=machine,
        load_average_after=procs.machine_info().load_average,
        requests=requests,
        blocks=blocks,
        model=named.key,
        protocol=protocol_of(named),
        stream=stream,
        throughput_concurrency=throughput_concurrency,
        throughput_s=throughput_s,
        keyed=keyed,
        direct=direct,
        paths=paths,
        idle_cpu_ms_per_s=idle,
        litellm=status,
        wall_s=round(time.perf_counter() - started, 1),
    )


async def _start_litellm(
    stack: contextlib.AsyncExitStack, fake: procs.Child, where: Path, venv: Path, named: ModelSpec
) -> tuple[LiteLLMStatus, litellm_proxy.LiteLLMProxy | None]:
    """Install (first use) and start the proxy; on failure, the reason and no proxy."""
    try:
        commands = await litellm_proxy.ensure_venv(venv, where / "litellm-install.log")
        proxy = await stack.enter_async_context(
            litellm_proxy.litellm_process(
                fake.url + (MESSAGES_PATH if protocol_of(named) == "anthropic" else "/v1"),
                where,
                venv=venv,
                model=named.key,
                upstream_model=named.model_id,
                protocol=protocol_of(named),
            )
        )
    except litellm_proxy.LiteLLMUnavailable as exc:
        return LiteLLMStatus(available=False, venv=str(venv), detail=str(exc)), None
    how = "installed now: " + " && ".join(" ".join(c) for c in commands) if commands else ""
    detail = how or "already installed"
    return LiteLLMStatus(available=True, venv=str(venv), detail=detail), proxy
