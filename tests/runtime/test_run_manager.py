"""The run manager on a scripted model client and a real SQLite store, without HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestratex.core.events import Event, is_terminal
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine import Orchestrator
from orchestratex.engine.admission import Ledger
from orchestratex.runtime.bus import EventBus
from orchestratex.runtime.follow import FollowSources, follow
from orchestratex.runtime.recovery import recover_local
from orchestratex.runtime.runs import RunManager, ServiceNotRunningError
from orchestratex.store.facade import Store
from orchestratex.store.writer import EventWriter
from orchestratex.testing.scripted_client import ScriptedClient, verdict
from tests.engine_run.helpers import MODELS, PRICES

REQUEST = OrchestrationRequest(prompt="Explain CRDTs.", max_rounds=3, threshold=9.5)


@dataclass
class World:
    store: Store
    bus: EventBus
    manager: RunManager
    client: ScriptedClient
    flush: Callable[[str], Awaitable[None]]

    def sources(self) -> FollowSources:
        return FollowSources(
            self.bus, self.manager.in_memory, self.store.events_after, self.manager.is_live
        )


async def _no_ledger(_user: str | None) -> Ledger | None:
    return None


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'orx.db'}")
    await store.start()
    bus = EventBus()
    writer = EventWriter(store.sessions)
    await writer.start()

    async def sink(event: Event) -> None:
        writer.add(event)
        await bus.publish(event)

    # Each answer takes a moment, so a stop can come between rounds.
    client = ScriptedClient(
        judges={"*": [verdict(5.0), verdict(6.0), verdict(7.0)]},
        delays_s={m.key: 0.2 for m in MODELS},
    )
    manager = RunManager(
        store, "runner-a", links=None, queues_runs=False, flush=writer.flush, ledger_for=_no_ledger
    )
    manager.attach(Orchestrator(client, MODELS, PRICES, sink=sink))
    try:
        yield World(store, bus, manager, client, writer.flush)
    finally:
        await writer.aclose()
        await store.aclose()


async def _wait_round(world: World, thread_id: str, n: int) -> None:
    async with asyncio.timeout(20):
        async for event in follow(world.sources(), thread_id):
            if event.type == "evaluation" and getattr(event, "round", 0) >= n:
                return


async def test_a_submitted_run_completes_and_is_followed_to_its_end(world: World) -> None:
    await world.manager.submit(REQUEST, "t-1", None, None)
    seen = [e async for e in follow(world.sources(), "t-1")]
    assert is_terminal(seen[-1]) and seen[-1].type == "completed"
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    assert await world.manager.wait("t-1") in (None, "completed")
    assert not world.manager.is_live("t-1"), "no longer running here once it is stored"
    state = await world.store.thread_state("t-1")
    assert state is not None and state.status == "completed"


async def test_stop_hands_back_and_a_new_runner_resumes_with_the_rounds_kept(
    world: World,
) -> None:
    await world.manager.submit(REQUEST, "t-2", None, None)
    await _wait_round(world, "t-2", 1)
    handed = await world.manager.stop(grace_s=0.0)
    assert handed == ["t-2"]
    lease = await world.store.lease("t-2")
    assert lease is not None and lease.status == "running" and lease.runner_id is None
    with pytest.raises(ServiceNotRunningError):
        await world.manager.submit(REQUEST, "t-3", None, None)
    before = await world.store.resume_point("t-2", drop_partial=False)
    assert before is not None and len(before.rounds) >= 1
    kept = before.rounds[0].answer

    other = RunManager(
        world.store,
        "runner-b",
        links=None,
        queues_runs=False,
        flush=world.flush,
        ledger_for=_no_ledger,
    )
    other.attach(world.manager.orchestrator)
    await recover_local(other, world.store, ttl=30.0)
    assert other.is_live("t-2"), "a handed-back run is taken at once, not after the TTL"
    assert await other.wait("t-2") == "completed"
    after = await world.store.resume_point("t-2", drop_partial=False)
    assert after is None  # finished
    state = await world.store.thread_state("t-2")
    assert state is not None and state.status == "completed"
    events = await world.store.events_after("t-2", 0, 1000)
    assert [e.type for e in events].count("started") == 2
    responses = [e for e in events if e.type == "response"]
    assert getattr(responses[0], "text", None) == kept
