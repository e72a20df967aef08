"""Performance history kept in memory, for library use without a database."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from orchestratex.core.events import (
    AnalysisEvent,
    EvaluationEvent,
    Event,
    ModelCallEvent,
    is_terminal,
)
from orchestratex.core.performance import PerformanceStats
from orchestratex.core.types import Domain


@dataclass(slots=True)
class _Running:
    """Welford running moments of scores, plus call counts and running means."""

    samples: int = 0
    mean: float = 0.0
    m2: float = 0.0
    successes: int = 0
    failures: int = 0
    calls: int = 0
    mean_latency_ms: float = 0.0
    mean_cost_usd: float = 0.0

    def add_score(self, score: float) -> None:
        self.samples += 1
        delta = score - self.mean
        self.mean += delta / self.samples
        self.m2 += delta * (score - self.mean)

    def add_call(self, *, success: bool, latency_ms: float, cost_usd: float) -> None:
        self.calls += 1
        if success:
            self.successes += 1
        else:
            self.failures += 1
        self.mean_latency_ms += (latency_ms - self.mean_latency_ms) / self.calls
        self.mean_cost_usd += (cost_usd - self.mean_cost_usd) / self.calls


class InMemoryPerformance:
    """A `PerformanceSource` that learns from runs' events (`learn`, an event sink) or from
    `record` calls; lost when the process ends. The service learns in the store instead.

    `score_variance` in the produced stats is the population variance of the recorded scores.
    """

    def __init__(self) -> None:
        self._runs: dict[tuple[str, Domain], _Running] = {}
        self._domains: dict[str, Domain] = {}

    async def learn(self, event: Event) -> None:
        """Learn from one event of a run: its domain, each answering call, each round's score.
        Pass it as the orchestrator's `sink` (or feed it `run.events()`)."""
        if isinstance(event, AnalysisEvent):
            self._domains[event.thread_id] = event.analysis.domain
        elif isinstance(event, ModelCallEvent) and event.purpose != "judge":
            domain = self._domains.get(event.thread_id, Domain.GENERAL)
            self.record(
                event.model,
                domain,
                None,
                success=event.success,
                latency_ms=event.latency_ms,
                cost_usd=event.cost_usd,
            )
        elif isinstance(event, EvaluationEvent) and event.score is not None:
            domain = self._domains.get(event.thread_id, Domain.GENERAL)
            self._runs.setdefault((event.model, domain), _Running()).add_score(event.score)
        elif is_terminal(event):
            self._domains.pop(event.thread_id, None)

    def record(
        self,
        model: str,
        domain: Domain,
        score: float | None,
        *,
        success: bool,
        latency_ms: float,
        cost_usd: float,
    ) -> None:
        """Add one call; `score` is the 0..10 judge aggregate, or None when it was not judged."""
        if score is not None and not (math.isfinite(score) and 0.0 <= score <= 10.0):
            raise ValueError(f"score must be within 0..10, got {score!r}")
        if not (math.isfinite(latency_ms) and latency_ms >= 0.0):
            raise ValueError(f"latency_ms must be finite and >= 0, got {latency_ms!r}")
        if not (math.isfinite(cost_usd) and cost_usd >= 0.0):
            raise ValueError(f"cost_usd must be finite and >= 0, got {cost_usd!r}")
        run = self._runs.setdefault((model, Domain(domain)), _Running())
        run.add_call(success=success, latency_ms=latency_ms, cost_usd=cost_usd)
        if score is not None:
            run.add_score(score)

    def stats(self) -> list[PerformanceStats]:
        """A snapshot, one entry per model and domain, sorted by model then domain."""
        out: list[PerformanceStats] = []
        for (model, domain), run in sorted(self._runs.items()):
            out.append(
                PerformanceStats(
                    model=model,
                    domain=domain,
                    samples=run.samples,
                    mean_score=min(max(run.mean, 0.0), 10.0),
                    score_variance=max(run.m2 / run.samples, 0.0) if run.samples else 0.0,
                    successes=run.successes,
                    failures=run.failures,
                    mean_latency_ms=run.mean_latency_ms,
                    mean_cost_usd=run.mean_cost_usd,
                )
            )
        return out

    async def performance(self) -> Sequence[PerformanceStats]:
        return self.stats()
