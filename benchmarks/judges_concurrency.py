"""Benchmark: wall time of the evaluation phase with two judges of 200 ms latency each.

Runs one round through the real Gateway against the fake provider server (a test tool, on
loopback) with `--latency-ms 200`, and measures the time from the answer (response event) to
the verdict (evaluation event). Concurrent judges take about 200 ms; sequential ones would
take 400 ms or more. Prints one JSON object.

    .venv/bin/python benchmarks/judges_concurrency.py
"""

from __future__ import annotations

import asyncio
import json

from orchestratex.core.events import EvaluationEvent, ResponseEvent
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine import Orchestrator
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider

LATENCY_MS = 200
JUDGES = ["fake-grok", "fake-qwen"]


async def measure(repeats: int = 3) -> dict[str, object]:
    walls: list[float] = []
    async with run_fake_provider(FakeProviderOptions(latency_ms=LATENCY_MS)) as server:
        catalog = fake_catalog(server.openai_base_url)
        gateway = Gateway(catalog)
        try:
            orch = Orchestrator(gateway, catalog.enabled(), catalog.prices, health=gateway)
            request = OrchestrationRequest(
                prompt="Explain the CAP theorem.", model="fake-gpt", max_rounds=1, judges=JUDGES
            )
            for _ in range(repeats):
                run = orch.start(request)
                await run.result()
                events = [e async for e in run.events()]
                answered = next(e for e in events if isinstance(e, ResponseEvent))
                judged = next(e for e in events if isinstance(e, EvaluationEvent))
                if any(v.error for v in judged.verdicts):
                    raise RuntimeError(f"a judge failed: {judged.verdicts}")
                walls.append((judged.ts - answered.ts).total_seconds() * 1000.0)
        finally:
            await gateway.aclose()
    return {
        "judges": len(JUDGES),
        "latency_ms_each": LATENCY_MS,
        "evaluation_wall_ms": round(min(walls), 1),
        "evaluation_wall_ms_runs": [round(w, 1) for w in walls],
    }


def main() -> None:
    print(json.dumps(asyncio.run(measure())))


if __name__ == "__main__":
    main()
