from __future__ import annotations

import random
import statistics

import pytest

from orchestratex.core.performance import PerformanceSource
from orchestratex.core.types import Domain
from orchestratex.engine.history import InMemoryPerformance


async def test_running_moments_match_statistics() -> None:
    rng = random.Random(7)
    history = InMemoryPerformance()
    scores = [round(rng.uniform(0, 10), 2) for _ in range(200)]
    for i, s in enumerate(scores):
        history.record("gpt-4o", Domain.MATH, s, success=True, latency_ms=1000.0 + i, cost_usd=0.01)
    history.record("gpt-4o", Domain.MATH, None, success=False, latency_ms=50.0, cost_usd=0.0)
    history.record("claude-haiku", Domain.CODING, 9.0, success=True, latency_ms=10.0, cost_usd=0.0)

    source: PerformanceSource = history
    out = list(await source.performance())
    assert [(s.model, s.domain) for s in out] == [
        ("claude-haiku", Domain.CODING),
        ("gpt-4o", Domain.MATH),
    ]
    math_stats = out[1]
    assert math_stats.samples == 200
    assert math_stats.mean_score == pytest.approx(statistics.fmean(scores))
    assert math_stats.score_variance == pytest.approx(statistics.pvariance(scores))
    assert (math_stats.successes, math_stats.failures) == (200, 1)
    latencies = [1000.0 + i for i in range(200)] + [50.0]
    assert math_stats.mean_latency_ms == pytest.approx(statistics.fmean(latencies))
    assert math_stats.mean_cost_usd == pytest.approx(2.0 / 201)
    assert out[0].score_variance == 0.0


def test_rejects_out_of_range_values() -> None:
    history = InMemoryPerformance()
    with pytest.raises(ValueError):
        history.record("m", Domain.MATH, 11.0, success=True, latency_ms=1.0, cost_usd=0.0)
    with pytest.raises(ValueError):
        history.record("m", Domain.MATH, float("nan"), success=True, latency_ms=1.0, cost_usd=0.0)
    with pytest.raises(ValueError):
        history.record("m", Domain.MATH, 5.0, success=True, latency_ms=-1.0, cost_usd=0.0)
    assert history.stats() == []


def test_unjudged_calls_count_without_scores() -> None:
    history = InMemoryPerformance()
    history.record("m", Domain.GENERAL, None, success=True, latency_ms=5.0, cost_usd=0.1)
    (only,) = history.stats()
    assert only.samples == 0
    assert only.mean_score == 0.0
    assert only.successes == 1
