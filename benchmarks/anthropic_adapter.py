"""CPU per call of the Anthropic adapter against the SDK's typed path, in one process.

Starts the fake provider (a test tool) as its own process, then calls its `/v1/messages` from
this process in alternating blocks, whole and streamed, two ways on the same `AsyncAnthropic`
client:
- `sdk`: `client.messages.create(...)`, the SDK building its typed `Message` (or, streamed,
  one typed event per server-sent event), the fields the service needs read from them;
- `adapter`: `AnthropicAdapter.complete` / `.stream` (providers/anthropic_wire.py), which sends
  through the same client's request path and reads the JSON itself (providers/anthropic_read.py).
CPU is this process's own (`time.process_time`), so the fake provider's work is left out; the
figure is the client side of one call: building the request, HTTP, reading the reply.

    .venv/bin/python benchmarks/anthropic_adapter.py --calls 400 --blocks 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic

from orchestratex.bench import procs
from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.providers.anthropic_wire import AnthropicAdapter
from orchestratex.providers.catalog import load_catalog

MODEL = "fake-claude-large"
PROMPT = "Compare the trade-offs of monoliths and microservices."

Way = Callable[[], Awaitable[None]]


def _ways(adapter: AnthropicAdapter, client: anthropic.AsyncAnthropic) -> dict[str, Way]:
    request = CompletionRequest(messages=[ChatMessage(role="user", content=PROMPT)], max_tokens=512)
    params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 512,
        "messages": [{"role": "user", "content": PROMPT}],
    }

    async def sdk_whole() -> None:
        message = await client.messages.create(**params)
        text = "".join(b.text for b in message.content if b.type == "text")
        assert text and message.usage.output_tokens > 0

    async def sdk_stream() -> None:
        parts: list[str] = []
        events = await client.messages.create(stream=True, **params)
        async with events:
            async for event in events:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    parts.append(event.delta.text)
        assert parts

    async def adapter_whole() -> None:
        assert (await adapter.complete(MODEL, request)).text

    async def adapter_stream() -> None:
        parts = [part async for part in adapter.stream(MODEL, request)]
        assert len(parts) > 1

    return {
        "sdk whole": sdk_whole,
        "adapter whole": adapter_whole,
        "sdk stream": sdk_stream,
        "adapter stream": adapter_stream,
    }


async def _block(way: Way, calls: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await way()
    return time.process_time() - cpu, time.perf_counter() - wall


async def measure(calls: int, blocks: int) -> dict[str, Any]:
    with procs.scratch_dir() as where:
        async with procs.fake_provider_process(0.0, where) as fake:
            catalog = load_catalog(
                include_builtin=False,
                provider_overrides={
                    "bench-anthropic": {"protocol": "anthropic", "base_url": fake.url}
                },
            )
            provider = catalog.providers["bench-anthropic"]
            adapter = AnthropicAdapter(provider, "not-a-real-key")
            client = anthropic.AsyncAnthropic(
                api_key="not-a-real-key", base_url=fake.url, max_retries=0
            )
            ways = _ways(adapter, client)
            for way in ways.values():  # warm-up: connections, imports, first-call caches
                await _block(way, 5)
            totals = {name: [0.0, 0.0] for name in ways}
            per_block = max(1, calls // blocks)
            for _ in range(blocks):
                for name, way in ways.items():
                    cpu, wall = await _block(way, per_block)
                    totals[name][0] += cpu
                    totals[name][1] += wall
            await adapter.aclose()
            await client.close()
    done = per_block * blocks
    rows = {
        name: {
            "cpu_ms_per_call": round(cpu * 1000 / done, 3),
            "wall_ms_per_call": round(wall * 1000 / done, 3),
        }
        for name, (cpu, wall) in totals.items()
    }
    return {
        "calls_per_way": done,
        "blocks": blocks,
        "load_average_after": procs.machine_info().load_average,
        "ways": rows,
        "cpu_ratio_adapter_to_sdk": {
            kind: round(
                rows[f"adapter {kind}"]["cpu_ms_per_call"] / rows[f"sdk {kind}"]["cpu_ms_per_call"],
                3,
            )
            for kind in ("whole", "stream")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="Calls per way, all blocks.")
    parser.add_argument("--blocks", type=int, default=4, help="Alternating blocks.")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.calls, args.blocks)), indent=2))


if __name__ == "__main__":
    main()
