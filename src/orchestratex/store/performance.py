"""Selection's history, read from the model_performance table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from orchestratex.core.performance import PerformanceStats
from orchestratex.core.types import Domain
from orchestratex.store.db import SessionFactory
from orchestratex.store.tables import ModelPerformance

_DOMAINS = {d.value for d in Domain}


def _stats(row: ModelPerformance) -> PerformanceStats:
    variance = row.m2 / (row.samples - 1) if row.samples > 1 else 0.0
    return PerformanceStats(
        model=row.model,
        domain=Domain(row.domain),
        samples=row.samples,
        mean_score=min(10.0, max(0.0, row.mean_score)),
        score_variance=max(0.0, variance),
        successes=row.successes,
        failures=row.failures,
        mean_latency_ms=max(0.0, row.mean_latency_ms),
        mean_cost_usd=max(0.0, row.mean_cost_usd),
    )


class SqlPerformanceSource:
    """core.performance.PerformanceSource over the store (sample variance from Welford's m2)."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory

    async def performance(self) -> Sequence[PerformanceStats]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ModelPerformance).order_by(ModelPerformance.model, ModelPerformance.domain)
            )
            return [_stats(row) for row in rows if row.domain in _DOMAINS]
