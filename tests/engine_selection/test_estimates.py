from __future__ import annotations

import math

import pytest

from orchestratex.core.performance import PerformanceStats
from orchestratex.core.types import Domain
from orchestratex.engine.estimates import (
    PRIOR_STRENGTH,
    estimate_quality,
    estimate_success,
    pool_stats,
    prior_quality,
    quality_posterior,
)
from tests.engine_selection.catalog import MODELS, spec


def stats(
    n: int, mean: float, var: float = 1.0, domain: Domain = Domain.CODING
) -> PerformanceStats:
    return PerformanceStats(
        model="m", domain=domain, samples=n, mean_score=mean, score_variance=var, successes=n
    )


def test_prior_scales_specialty_and_complexity_hurts_small_more_than_large() -> None:
    large = spec("l", "x", "large", (0.8, 0.8, 0.8, 0.8, 0.8))
    small = spec("s", "y", "small", (0.8, 0.8, 0.8, 0.8, 0.8))
    assert prior_quality(large, Domain.MATH, 0.0) == pytest.approx(8.0)
    assert prior_quality(small, Domain.MATH, 0.0) == pytest.approx(8.0)
    large_drop = 8.0 - prior_quality(large, Domain.MATH, 1.0)
    small_drop = 8.0 - prior_quality(small, Domain.MATH, 1.0)
    assert 0.0 < large_drop < small_drop


def test_no_history_gives_the_prior_with_its_uncertainty() -> None:
    est = estimate_quality(MODELS[0], Domain.CODING, 0.0)
    assert est.mean == pytest.approx(8.2)
    assert est.samples == 0
    assert 0.5 < est.std < 2.0


def test_posterior_mean_is_the_weighted_blend_and_std_shrinks() -> None:
    prior = 8.0
    few = quality_posterior(prior, stats(2, 4.0))
    many = quality_posterior(prior, stats(50, 4.0))
    assert few.mean == pytest.approx((PRIOR_STRENGTH * 8.0 + 2 * 4.0) / (PRIOR_STRENGTH + 2))
    assert many.mean < few.mean < prior
    assert many.mean == pytest.approx(4.0, abs=0.4)
    none = quality_posterior(prior, None)
    assert many.std < few.std
    assert many.std < none.std


def test_disagreement_with_the_prior_widens_uncertainty() -> None:
    agree = quality_posterior(8.0, stats(4, 8.0, var=0.5))
    clash = quality_posterior(8.0, stats(4, 2.0, var=0.5))
    assert clash.std > agree.std


def test_success_rate_beta_posterior() -> None:
    fresh = estimate_success(0, 0)
    assert fresh.mean == pytest.approx(0.95)
    bad = estimate_success(5, 45)
    assert bad.mean < 0.3
    assert estimate_success(500, 0).std < fresh.std
    assert all(math.isfinite(x) for x in (bad.mean, bad.std))


def test_pool_stats_matches_pooled_moments() -> None:
    scores_a = [6.0, 7.0, 8.0]
    scores_b = [2.0, 4.0]

    def moments(xs: list[float]) -> tuple[float, float]:
        m = sum(xs) / len(xs)
        return m, sum((x - m) ** 2 for x in xs) / len(xs)

    (ma, va), (mb, vb) = moments(scores_a), moments(scores_b)
    pooled = pool_stats([stats(3, ma, va), stats(2, mb, vb)])
    assert pooled is not None
    m, v = moments(scores_a + scores_b)
    assert pooled.samples == 5
    assert pooled.mean_score == pytest.approx(m)
    assert pooled.score_variance == pytest.approx(v)
    assert pool_stats([]) is None
