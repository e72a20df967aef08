"""The run manager on a scripted model client and a real SQLite store, without HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestratex.core.events import CompletedEvent, Event, ResponseEvent, is_terminal
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
    dies_after: Callable[[Event], bool] = lambda _event: False
    """The first process dies (nothing it emits is stored) right after storing such an event."""
    dead: asyncio.Event = field(default_factory=asyncio.Event)

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

    worlds: list[World] = []

    async def sink(event: Event) -> None:
        if worlds[0].dead.is_set():
            return
        writer.add(event)
        await bus.publish(event)
        if worlds[0].dies_after(event):
            worlds[0].dead.set()

    # Each answer takes a moment, so a stop can come between rounds.
    client = ScriptedClient(
        judges={"*": [verdict(5.0), verdict(6.0), verdict(7.0)]},
        delays_s={m.key: 0.2 for m in MODELS},
    )
    manager = RunManager(
        store, "runner-a", links=None, queues_runs=False, flush=writer.flush, ledger_for=_no_ledger
    )
    manager.attach(Orchestrator(client, MODELS, PRICES, sink=sink))
    worlds.append(World(store, bus, manager, client, writer.flush))
    try:
        yield worlds[0]
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


def _runner_b(world: World, orchestrator: Orchestrator) -> RunManager:
    other = RunManager(
        world.store,
        "runner-b",
        links=None,
        queues_runs=False,
        flush=world.flush,
        ledger_for=_no_ledger,
    )
    other.attach(orchestrator)
    return other


async def test_a_run_resumed_after_its_worker_died_counts_what_the_dead_attempt_spent(
    world: World,
) -> None:
    """The first worker dies right after round 2's answer is stored (its judges' verdicts
    never are): that answer was paid for, so the resumed run's total, the thread's total and
    the usage rows are the same money."""
    world.dies_after = lambda e: isinstance(e, ResponseEvent) and e.round == 2
    await world.manager.submit(REQUEST, "t-k", None, None)
    async with asyncio.timeout(20):
        await world.dead.wait()
    run = world.manager.run_of("t-k")
    assert run is not None
    run.suspend()
    await world.flush("t-k")
    assert await world.store.hand_back("runner-a", ["t-k"]) == 1
    point = await world.store.resume_point("t-k", drop_partial=False)
    assert point is not None and len(point.rounds) == 1, "round 2 was never judged"
    lost = point.spent_usd - point.rounds[0].cost_usd
    assert lost > 0, "the dead attempt's round-2 answer is in the usage rows"

    world.dead.clear()
    world.dies_after = lambda _event: False
    other = _runner_b(world, world.manager.orchestrator)
    await recover_local(other, world.store, ttl=30.0)
    assert await other.wait("t-k") == "completed"
    events = await world.store.events_after("t-k", 0, 1000)
    result = next(e.result for e in events if isinstance(e, CompletedEvent))
    detail = await world.store.thread_detail("t-k", user_id=None, is_admin=True)
    assert detail is not None
    rows = sum(c.cost_usd for c in detail.costs)
    revisions = [c for c in detail.costs if c.purpose == "revise"]
    assert sum(c.calls for c in revisions) == len(result.rounds), "round 2 answered twice"
    assert result.total_cost_usd == pytest.approx(rows, rel=1e-9)
    assert detail.thread.total_cost_usd == pytest.approx(rows, rel=1e-9)
    assert result.usage.input_tokens == sum(c.input_tokens for c in detail.costs)
    assert result.usage.output_tokens == sum(c.output_tokens for c in detail.costs)
