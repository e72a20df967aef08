"""Learning in one place: judge reliability, like performance history and selection outcomes, is
learned by the store from a run's events once, at the run's end, and survives a restart.

Wired as the composition root wires the service (runtime/composition.py): the orchestrator reads
judge records from the store and does not learn in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestratex.core.events import EvaluationEvent, Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.core.performance import JudgeRecord
from orchestratex.engine import Orchestrator
from orchestratex.store.facade import Store
from orchestratex.store.performance import SqlJudgeRecords, SqlPerformanceSource
from orchestratex.store.writer import EventWriter
from orchestratex.testing.scripted_client import ScriptedClient, verdict
from tests.engine_run.helpers import MODELS, PRICES

JUDGES = ["beta", "gamma", "delta"]
REQUEST = OrchestrationRequest(
    prompt="Explain CRDTs.", model="alpha", judges=JUDGES, max_rounds=1, threshold=1.0
)
# delta disagrees with the others: agreement 1 - |2 - 8| / 10 = 0.4; beta and gamma each
# 1 - |8 - (8 + 2) / 2| / 10 = 0.7.
SCORES = {"beta": 8.0, "gamma": 8.0, "delta": 2.0}


@dataclass
class Process:
    """One process of the service: its store, writer and orchestrator."""

    store: Store
    writer: EventWriter
    orchestrator: Orchestrator
    records: SqlJudgeRecords
    evaluations: list[EvaluationEvent]

    async def run(self) -> None:
        handle = self.orchestrator.start(REQUEST)
        await handle.result()
        await self.writer.flush(handle.thread_id)


@asynccontextmanager
async def process(db: Path) -> AsyncIterator[Process]:
    store = Store(f"sqlite+aiosqlite:///{db}")
    await store.start()
    writer = EventWriter(store.sessions)
    await writer.start()
    evaluations: list[EvaluationEvent] = []

    async def sink(event: Event) -> None:
        writer.add(event)
        if isinstance(event, EvaluationEvent):
            evaluations.append(event)

    client = ScriptedClient(judges={k: verdict(v) for k, v in SCORES.items()})
    records = SqlJudgeRecords(store.sessions, max_age_s=0.0)
    orchestrator = Orchestrator(
        client,
        MODELS,
        PRICES,
        sink=sink,
        performance=SqlPerformanceSource(store.sessions),
        judge_records=records,
    )
    try:
        yield Process(store, writer, orchestrator, records, evaluations)
    finally:
        await writer.aclose()
        await store.aclose()


def _by_judge(records: list[JudgeRecord]) -> dict[str, tuple[int, float]]:
    return {r.judge: (r.verdicts, round(r.agreement_sum, 9)) for r in records}


async def test_judge_reliability_is_learned_by_the_store_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "orx.db"
    async with process(db) as first:
        await first.run()
        learned = _by_judge(list(await first.records.judge_records()))
        assert learned == {"beta": (1, 0.7), "gamma": (1, 0.7), "delta": (1, 0.4)}
        assert first.orchestrator.reliability.weights() == {}, "no second, in-memory learner"
        await first.run()
        learned = _by_judge(list(await first.records.judge_records()))
        assert learned == {"beta": (2, 1.4), "gamma": (2, 1.4), "delta": (2, 0.8)}
        # Every verdict of the first run had the prior weight: nothing was known yet.
        prior = first.orchestrator.reliability.prior
        assert [v.weight for v in first.evaluations[0].verdicts] == [pytest.approx(prior)] * 3

    async with process(db) as restarted:
        records = list(await restarted.records.judge_records())
        assert _by_judge(records) == learned, "the records survived the restart"
        await restarted.run()
        [evaluation] = restarted.evaluations
        weights = {v.judge: v.weight for v in evaluation.verdicts}
        policy = restarted.orchestrator.reliability
        by_judge = {r.judge: r for r in records}
        assert weights == {j: pytest.approx(policy.weight_of(by_judge[j])) for j in JUDGES}
        assert weights["delta"] < weights["beta"] == weights["gamma"] < prior
        # The outlier now counts less: the score leans toward the judges that agree.
        plain_mean = sum(SCORES.values()) / len(SCORES)
        assert evaluation.score is not None and evaluation.score > plain_mean


async def test_a_library_orchestrator_learns_in_memory_from_its_own_events() -> None:
    client = ScriptedClient(judges={k: verdict(v) for k, v in SCORES.items()})
    orchestrator = Orchestrator(client, MODELS, PRICES)
    await orchestrator.run(REQUEST)
    weights = orchestrator.reliability.weights()
    assert set(weights) == set(JUDGES)
    assert weights["delta"] < weights["beta"] == weights["gamma"]
