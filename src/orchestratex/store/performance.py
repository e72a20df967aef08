"""What selection and evaluation learn from, read from the store: each model's history
(model_performance) and each judge's record (judge_reliability)."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.performance import JudgeRecord, PerformanceStats
from orchestratex.core.types import Domain
from orchestratex.store.db import SessionFactory
from orchestratex.store.tables import JudgeReliabilityRecord, ModelPerformance

_DOMAINS = {d.value for d in Domain}
T = TypeVar("T")


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


class _TableSource(ABC, Generic[T]):
    """A table read at most once per `max_age_s` (1 s by default): the request path then does
    no I/O, and what a run taught is seen a moment later."""

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
        self._cached: tuple[float, T] | None = None
        self._lock = asyncio.Lock()

    @abstractmethod
    async def _read(self, session: AsyncSession) -> T:
        """The table's current value (each source reads its own table)."""

    def _fresh(self) -> T | None:
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self._max_age_s:
            return cached[1]
        return None

    async def _get(self) -> T:
        found = self._fresh()
        if found is not None:
            return found
        async with self._lock:
            found = self._fresh()
            if found is not None:
                return found
            async with self._sessions() as session:
                value = await self._read(session)
            self._cached = (self._clock(), value)
            return value


class SqlPerformanceSource(_TableSource[list[PerformanceStats]]):
    """core.performance.PerformanceSource over the store (sample variance from Welford's m2)."""

    async def _read(self, session: AsyncSession) -> list[PerformanceStats]:
        rows = await session.scalars(
            select(ModelPerformance).order_by(ModelPerformance.model, ModelPerformance.domain)
        )
        return [_stats(row) for row in rows if row.domain in _DOMAINS]

    async def performance(self) -> Sequence[PerformanceStats]:
        return await self._get()


class SqlJudgeRecords(_TableSource[list[JudgeRecord]]):
    """core.performance.JudgeRecordSource over the store."""

    async def _read(self, session: AsyncSession) -> list[JudgeRecord]:
        rows = await session.scalars(
            select(JudgeReliabilityRecord).order_by(JudgeReliabilityRecord.judge)
        )
        return [
            JudgeRecord(judge=r.judge, verdicts=r.verdicts, agreement_sum=max(0.0, r.agreement_sum))
            for r in rows
        ]

    async def judge_records(self) -> Sequence[JudgeRecord]:
        return await self._get()
