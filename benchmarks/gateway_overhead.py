"""Benchmark: CPU time the Gateway adds to one call, over the adapter it wraps.

Starts the fake provider (a test tool) in its own process on loopback with 0 ms latency, so
this process's CPU time is the client's alone. For each wire protocol it makes N calls
straight through the adapter (the SDK call the gateway wraps) and N calls through
`Gateway.complete` (and `Gateway.stream`), alternating blocks of both to share the machine's
noise, and reports the CPU time per call and the difference: the gateway's own overhead
(retry loop, breaker, limiter, timeout, health, cost, the Completion). Prints one JSON object.

    .venv/bin/python benchmarks/gateway_overhead.py [--calls 2000] [--blocks 5]

A measurement, not a test: nothing here fails on a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.keys import resolve_api_key
from orchestratex.providers.registry import create_adapter
from orchestratex.testing.fake_catalog import fake_catalog

MODELS = ("fake-gpt", "fake-claude")
REQUEST = CompletionRequest(
    messages=[
        ChatMessage(role="system", content="You answer briefly."),
        ChatMessage(role="user", content="What is a monad?"),
    ],
    max_tokens=100,
    timeout_s=30.0,
)


_SERVE = "import sys; from orchestratex.cli.main import app; sys.exit(app())"


def start_fake_provider() -> tuple[subprocess.Popen[str], str]:
    """The fake provider in a child process on a free port; returns it and its OpenAI URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, "fake-provider", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"OpenAI base URL (\S+);", line)
    if found is None:
        proc.terminate()
        raise RuntimeError(f"the fake provider did not start: {line!r}")
    return proc, found.group(1)


async def cpu_per_call_us(call: Callable[[], Awaitable[object]], calls: int) -> float:
    for _ in range(20):  # warm connections and caches
        await call()
    start = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - start) / calls * 1e6


async def measure_model(gateway: Gateway, model: str, calls: int, blocks: int) -> dict[str, object]:
    spec = gateway.catalog.get(model)
    provider = gateway.catalog.providers[spec.provider]
    adapter = create_adapter(provider, resolve_api_key(provider))

    async def direct() -> object:
        return await adapter.complete(spec.model_id, REQUEST)

    async def via_gateway() -> object:
        return await gateway.complete(model, REQUEST)

    async def direct_stream() -> object:
        return [part async for part in adapter.stream(spec.model_id, REQUEST)]

    async def via_stream() -> object:
        return [part async for part in gateway.stream(model, REQUEST)]

    calls_of = {
        "adapter": direct,
        "gateway": via_gateway,
        "adapter_stream": direct_stream,
        "gateway_stream": via_stream,
    }
    runs: dict[str, list[float]] = {name: [] for name in calls_of}
    try:
        for _ in range(blocks):
            for name, one in calls_of.items():
                runs[name].append(await cpu_per_call_us(one, calls))
    finally:
        await adapter.aclose()
    med = {name: statistics.median(values) for name, values in runs.items()}
    return {
        **{f"{name}_cpu_us_per_call": round(v, 1) for name, v in med.items()},
        "gateway_overhead_cpu_us_per_call": round(med["gateway"] - med["adapter"], 1),
        "stream_overhead_cpu_us_per_call": round(med["gateway_stream"] - med["adapter_stream"], 1),
        "blocks": {name: [round(v, 1) for v in values] for name, values in runs.items()},
    }


async def measure(calls: int, blocks: int) -> dict[str, object]:
    proc, base_url = start_fake_provider()
    try:
        gateway = Gateway(fake_catalog(base_url))
        try:
            await gateway.warm_up()
            results = {m: await measure_model(gateway, m, calls, blocks) for m in MODELS}
        finally:
            await gateway.aclose()
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    return {"calls_per_block": calls, "blocks": blocks, "models": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.calls, args.blocks)), indent=2))


if __name__ == "__main__":
    main()
