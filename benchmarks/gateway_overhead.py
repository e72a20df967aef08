"""Benchmark: CPU time the Gateway adds to one call, over the adapter it wraps.

Two measurements, each a loop of N calls timed with `time.process_time`:

- over HTTP: the fake provider (a test tool) runs in its own process on loopback with 0 ms
  latency, so this process's CPU time is the client's alone. For each wire protocol, N calls
  straight through the adapter (the SDK call the gateway wraps), N through `Gateway.complete`
  and the same for streams, in alternating blocks to share the machine's noise;
- with a stub adapter: an in-process adapter with a canned reply (no HTTP), so the difference
  is the gateway's own cost (attempt loop, breaker, limiter, timeout, health, cost, the
  Completion) without the SDK's noise around it.

Prints one JSON object.

    .venv/bin/python benchmarks/gateway_overhead.py [--calls 2000] [--blocks 5] [--stub-only]

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
from collections.abc import AsyncIterator, Awaitable, Callable

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.types import (
    ChatMessage,
    CompletionRequest,
    RawCompletion,
    TextDelta,
    TokenUsage,
)
from orchestratex.providers.base import AdapterFactory, ProviderAdapter
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.keys import resolve_api_key
from orchestratex.providers.registry import create_adapter
from orchestratex.testing.fake_catalog import fake_catalog

MODELS = ("fake-gpt", "fake-claude")
STUB_DELTAS = 40
STUB_TEXT = "[benchmark stub, not a model] " + "x " * STUB_DELTAS
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


async def measure_model(
    gateway: Gateway, adapter: ProviderAdapter, model: str, calls: int, blocks: int
) -> dict[str, object]:
    """CPU per call straight through `adapter` and through the gateway, for one model."""
    spec = gateway.catalog.get(model)

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
    for _ in range(blocks):
        for name, one in calls_of.items():
            runs[name].append(await cpu_per_call_us(one, calls))
    med = {name: statistics.median(values) for name, values in runs.items()}
    return {
        **{f"{name}_cpu_us_per_call": round(v, 1) for name, v in med.items()},
        "gateway_overhead_cpu_us_per_call": round(med["gateway"] - med["adapter"], 1),
        "stream_overhead_cpu_us_per_call": round(med["gateway_stream"] - med["adapter_stream"], 1),
        "blocks": {name: [round(v, 1) for v in values] for name, values in runs.items()},
    }


class StubAdapter:
    """An in-process adapter with a canned reply (no HTTP): isolates the gateway's own cost.
    Its text is marked as a benchmark stub and never leaves this script."""

    def __init__(self, provider: ProviderSpec, api_key: str) -> None:
        self._usage = TokenUsage(input_tokens=20, output_tokens=STUB_DELTAS)

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        return RawCompletion(text=STUB_TEXT, usage=self._usage, provider_model=model_id)

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | RawCompletion]:
        for _ in range(STUB_DELTAS):
            yield TextDelta(text="x ")
        yield RawCompletion(text=STUB_TEXT, usage=self._usage, provider_model=model_id)

    async def aclose(self) -> None:
        return None


async def measure_over_http(calls: int, blocks: int) -> dict[str, object]:
    proc, base_url = start_fake_provider()
    try:
        gateway = Gateway(fake_catalog(base_url))
        try:
            await gateway.warm_up()
            results: dict[str, object] = {}
            for model in MODELS:
                spec = gateway.catalog.get(model)
                provider = gateway.catalog.providers[spec.provider]
                adapter = create_adapter(provider, resolve_api_key(provider))
                try:
                    results[model] = await measure_model(gateway, adapter, model, calls, blocks)
                finally:
                    await adapter.aclose()
        finally:
            await gateway.aclose()
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    return results


async def measure_stub(calls: int, blocks: int) -> dict[str, object]:
    catalog = fake_catalog("http://127.0.0.1:9/v1")  # never dialled: the stub answers
    stubs: dict[str, AdapterFactory] = {"openai": StubAdapter, "anthropic": StubAdapter}
    gateway = Gateway(catalog, adapter_factories=stubs)
    provider = catalog.providers[catalog.get(MODELS[0]).provider]
    try:
        return await measure_model(gateway, StubAdapter(provider, ""), MODELS[0], calls, blocks)
    finally:
        await gateway.aclose()


async def measure(calls: int, blocks: int, stub_only: bool) -> dict[str, object]:
    found: dict[str, object] = {"calls_per_block": calls, "blocks": blocks}
    if not stub_only:
        found["fake_provider_over_http"] = await measure_over_http(calls, blocks)
    found[f"stub_adapter_{STUB_DELTAS}_deltas"] = await measure_stub(calls * 5, blocks)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--stub-only", action="store_true", help="skip the HTTP measurement")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.calls, args.blocks, args.stub_only)), indent=2))


if __name__ == "__main__":
    main()
