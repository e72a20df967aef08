"""Selection's history, read from the model_performance table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

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
    """core.performance.PerformanceSource over the store (sample variance from Welford's m2).

    The table is read at most once per `max_age_s` (1 s by default): selection on the request
    path then does no I/O, and history learned from a run is seen a moment later.
    """

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        max_age_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = session_factory
        self._max_age_s = max_age_s
        self._clock = clock
        self._cached: tuple[float, list[PerformanceStats]] | None = None
        self._lock = asyncio.Lock()

    async def performance(self) -> Sequence[PerformanceStats]:
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self._max_age_s:
            return cached[1]
        async with self._lock:
            cached = self._cached
            if cached is not None and self._clock() - cached[0] < self._max_age_s:
                return cached[1]
            async with self._sessions() as session:
                rows = await session.scalars(
                    select(ModelPerformance).order_by(
                        ModelPerformance.model, ModelPerformance.domain
                    )
                )
                stats = [_stats(row) for row in rows if row.domain in _DOMAINS]
            self._cached = (self._clock(), stats)
            return stats
