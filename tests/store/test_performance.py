"""The SQL performance source returns what the writer learned."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest

from orchestratex.core.performance import PerformanceSource
from orchestratex.core.types import Domain
from orchestratex.store.db import SessionFactory
from orchestratex.store.performance import SqlPerformanceSource
from tests.store.factories import feed, run_events

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def test_learned_stats(sessions: SessionFactory) -> None:
    now = [0.0]
    source: PerformanceSource = SqlPerformanceSource(sessions, clock=lambda: now[0])
    assert list(await source.performance()) == []
    await feed(sessions, run_events("r1", start=START, scores=[6.5, 8.5], failing_judge="m-z"))
    await feed(sessions, run_events("r2", start=START, scores=[5.0], gen_cost=0.004))
    await feed(sessions, run_events("r3", start=START, scores=[9.0], domain=Domain.MATH))
    assert list(await source.performance()) == [], "read at most once a second"
    now[0] = 1.5
    stats = {(s.model, s.domain): s for s in await source.performance()}
    coding = stats[("gpt-x", Domain.CODING)]
    assert coding.samples == 3
    assert coding.mean_score == pytest.approx(statistics.mean([6.5, 8.5, 5.0]))
    assert coding.score_variance == pytest.approx(statistics.variance([6.5, 8.5, 5.0]))
    assert coding.mean_cost_usd == pytest.approx((0.002 + 0.002 + 0.004) / 3)
    assert coding.mean_latency_ms == pytest.approx(800.0)
    assert (coding.successes, coding.failures) == (3, 0)
    failing = stats[("m-z", Domain.CODING)]
    assert (failing.samples, failing.successes, failing.failures) == (0, 0, 1)
    math = stats[("gpt-x", Domain.MATH)]
    assert (math.samples, math.mean_score, math.score_variance) == (1, 9.0, 0.0)
    assert stats[("claude-y", Domain.CODING)].successes == 3
