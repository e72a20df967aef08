"""Judge reliability: how much each judge's score counts, from its agreement record.

A judge's reliability is the mean agreement of its verdicts with the other judges of the same
evaluation (`core.performance.agreements`), shrunk toward `prior` by `prior_strength`
pseudo-verdicts. Weights never drop below `floor`, so a judge is outvoted but never silenced.

The record is learned from `evaluation` events by one consumer: in the service, the store at
each run's end (`store/outcomes.py`), so it survives restarts and every worker shares it; in the
library, `JudgeReliability.learn`, which the orchestrator feeds its own events when it is given
no other `JudgeRecordSource`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orchestratex.core.events import EvaluationEvent, Event
from orchestratex.core.orchestration import JudgeVerdict
from orchestratex.core.performance import JudgeRecord, agreements
from orchestratex.engine.emitter import EventSink


@dataclass
class JudgeReliability:
    """The weighting (prior, strength, floor) and an in-memory record for library use."""

    prior: float = 0.8
    prior_strength: float = 3.0
    floor: float = 0.1
    _sum: dict[str, float] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)

    def weight_of(self, record: JudgeRecord | None) -> float:
        """The weight a judge with this record gets (the prior's without one)."""
        n = record.verdicts if record is not None else 0
        total = record.agreement_sum if record is not None else 0.0
        value = (self.prior * self.prior_strength + total) / (self.prior_strength + n)
        return max(self.floor, min(1.0, value))

    def weigher(self, records: Sequence[JudgeRecord]) -> Callable[[str], float]:
        """A judge's weight by name, from these records."""
        by_judge = {r.judge: r for r in records}
        return lambda judge: self.weight_of(by_judge.get(judge))

    # --- the in-memory record ---------------------------------------------------------------

    def weight(self, judge: str) -> float:
        """The judge's weight from the in-memory record."""
        return self.weigher(self._records())(judge)

    def weights(self) -> dict[str, float]:
        return {r.judge: self.weight_of(r) for r in self._records()}

    def observe(self, verdicts: Sequence[JudgeVerdict]) -> None:
        """Add one evaluation to the in-memory record (needs at least two scored verdicts)."""
        scored = [(v.judge, v.score.overall) for v in verdicts if v.score is not None]
        for judge, agreement in agreements(scored):
            self._sum[judge] = self._sum.get(judge, 0.0) + agreement
            self._count[judge] = self._count.get(judge, 0) + 1

    def learning_first(self, sink: EventSink | None) -> EventSink:
        """A sink that lets this in-memory record learn from each event, then passes it on."""

        async def deliver(event: Event) -> None:
            await self.learn(event)
            pending = sink(event) if sink is not None else None
            if pending is not None:
                await pending

        return deliver

    async def learn(self, event: Event) -> None:
        """An event sink: learn from each `evaluation` event."""
        if isinstance(event, EvaluationEvent):
            self.observe(event.verdicts)

    async def judge_records(self) -> list[JudgeRecord]:
        """The in-memory record, as a `JudgeRecordSource`."""
        return self._records()

    def _records(self) -> list[JudgeRecord]:
        return [
            JudgeRecord(judge=j, verdicts=n, agreement_sum=self._sum.get(j, 0.0))
            for j, n in sorted(self._count.items())
        ]
