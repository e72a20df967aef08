"""Benchmark: events per second written to SQLite, one awaited write per event vs batched.

First records the events of real runs: the engine and the gateway against the fake provider
server on loopback (3 rounds each, answers streamed in chunks). Then writes those events,
under fresh thread ids, into a fresh SQLite file per writer, sequentially:

- `store_writer`: `StoreWriter.handle(event)` awaited for every event (one transaction each),
  as the service did before EventWriter;
- `event_writer_paced`: `EventWriter.add(event)` then one yield to the event loop per event, as
  a run produces them (the writer writes at round boundaries and every `flush_interval_s`);
- `event_writer_burst`: every event added at once, then `aclose()` (one batch per max_batch).

Reports events/s (wall) and CPU ms per event (this process, the aiosqlite thread included),
median of `--repeats`. A measurement, not a test: figures vary with the machine's load.

    .venv/bin/python benchmarks/store_writer.py
    .venv/bin/python benchmarks/store_writer.py --runs 20 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from orchestratex.core.events import Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine import Orchestrator
from orchestratex.providers.gateway import Gateway
from orchestratex.store import writer as writer_module
from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, init_db
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider

PROMPT = "Explain, step by step, how a hash map handles collisions."


async def record_runs(count: int) -> list[list[Event]]:
    """The events of `count` real 3-round runs (threshold 10 keeps every round)."""
    runs: list[list[Event]] = []
    async with run_fake_provider(FakeProviderOptions(latency_ms=0)) as server:
        catalog = fake_catalog(server.openai_base_url)
        gateway = Gateway(catalog, fallback=False)
        try:
            orch = Orchestrator(gateway, catalog.enabled(), catalog.prices, health=gateway)
            request = OrchestrationRequest(
                prompt=PROMPT, model="fake-gpt", max_rounds=3, threshold=10.0
            )
            for _ in range(count):
                run = orch.start(request)
                await run.result()
                runs.append([e async for e in run.events()])
        finally:
            await gateway.aclose()
    return runs


def _events_for(runs: list[list[Event]], tag: str) -> list[Event]:
    return [
        e.model_copy(update={"thread_id": f"{tag}-{i}"}) for i, run in enumerate(runs) for e in run
    ]


async def _timed(
    events: list[Event], write: Callable[[SessionFactory, list[Event]], Awaitable[None]]
) -> tuple[float, float]:
    """Wall seconds and CPU seconds to write `events` into a fresh SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await init_db(engine)
        sessions = create_session_factory(engine)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            await write(sessions, events)
            return time.perf_counter() - wall, time.process_time() - cpu
        finally:
            await engine.dispose()


async def _store_writer(sessions: SessionFactory, events: list[Event]) -> None:
    one_by_one = writer_module.StoreWriter(sessions)
    for event in events:
        await one_by_one.handle(event)


async def _event_writer_paced(sessions: SessionFactory, events: list[Event]) -> None:
    batched = writer_module.EventWriter(sessions)  # type: ignore[attr-defined,unused-ignore]
    await batched.start()
    for event in events:
        batched.add(event)
        await asyncio.sleep(0)
    await batched.aclose()


async def _event_writer_burst(sessions: SessionFactory, events: list[Event]) -> None:
    batched = writer_module.EventWriter(sessions)  # type: ignore[attr-defined,unused-ignore]
    await batched.start()
    for event in events:
        batched.add(event)
    await batched.aclose()


async def main(runs: int, repeats: int) -> dict[str, object]:
    recorded = await record_runs(runs)
    writers: dict[str, Callable[[SessionFactory, list[Event]], Awaitable[None]]] = {
        "store_writer": _store_writer
    }
    if hasattr(writer_module, "EventWriter"):  # absent when run against the code before it
        writers["event_writer_paced"] = _event_writer_paced
        writers["event_writer_burst"] = _event_writer_burst
    report: dict[str, object] = {
        "runs": runs,
        "events": sum(len(r) for r in recorded),
        "chunks": sum(1 for r in recorded for e in r if e.type == "response_chunk"),
        "repeats": repeats,
    }
    for name, write in writers.items():
        walls: list[float] = []
        cpus: list[float] = []
        for repeat in range(repeats):
            events = _events_for(recorded, f"{name}-{repeat}")
            wall, cpu = await _timed(events, write)
            walls.append(wall)
            cpus.append(cpu)
        count = len(_events_for(recorded, "n"))
        report[name] = {
            "events_per_s": round(count / statistics.median(walls)),
            "cpu_ms_per_event": round(1000 * statistics.median(cpus) / count, 3),
            "wall_s": round(statistics.median(walls), 3),
        }
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="recorded 3-round runs to write")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.repeats)), indent=2))
