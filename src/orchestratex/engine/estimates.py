"""Bayesian estimates of a model's answer quality and call success rate.

Quality lives on the judges' 0..10 scale. The prior comes from the catalog's specialty for the
domain (0..1, scaled to 0..10), lowered for hard prompts (more for small models than large ones)
and worth `PRIOR_STRENGTH` pseudo-observations. Recorded history updates it with a Normal-Gamma
conjugate update (unknown mean and unknown variance), giving a posterior mean and the standard
deviation of that mean. `PerformanceStats.score_variance` is read as the population variance of
the recorded scores (sum of squared deviations divided by the number of samples).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from orchestratex.core.catalog import ModelSpec
from orchestratex.core.performance import PerformanceStats
from orchestratex.core.types import Domain

SCALE = 10.0
PRIOR_STRENGTH = 4.0
"""How many judged answers the specialty prior is worth."""
PRIOR_SCORE_VARIANCE = 4.0
"""Expected spread of single judge aggregates around a model's mean (a 2-point std)."""
PRIOR_SHAPE = 2.0
"""Gamma shape of the precision prior; 2 keeps the prior variance finite yet weak."""
COMPLEXITY_PENALTY = {"small": 2.0, "medium": 1.0, "large": 0.3}
"""Points lost at complexity 1.0 (linear in complexity), by tier."""
SUCCESS_PRIOR_RATE = 0.95
SUCCESS_PRIOR_STRENGTH = 10.0


@dataclass(frozen=True, slots=True)
class QualityEstimate:
    """Posterior expected quality (0..10), the std of that expectation, and the evidence."""

    mean: float
    std: float
    samples: int


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """Posterior success probability of a call, with its std."""

    mean: float
    std: float


@dataclass(slots=True)
class CallHistory:
    """A model's calls over every domain: outcomes, and call-weighted latency and cost."""

    successes: int = 0
    failures: int = 0
    _latency_sum: float = 0.0
    _latency_weight: int = 0
    _cost_sum: float = 0.0
    _cost_weight: int = 0

    def add(self, stats: PerformanceStats) -> None:
        """Fold one record in; zero latency or cost means "not measured" and is skipped."""
        self.successes += stats.successes
        self.failures += stats.failures
        weight = max(stats.successes + stats.failures, stats.samples, 1)
        if stats.mean_latency_ms > 0.0:
            self._latency_sum += stats.mean_latency_ms * weight
            self._latency_weight += weight
        if stats.mean_cost_usd > 0.0:
            self._cost_sum += stats.mean_cost_usd * weight
            self._cost_weight += weight

    def mean_latency_ms(self) -> float | None:
        return self._latency_sum / self._latency_weight if self._latency_weight else None

    def mean_cost_usd(self) -> float | None:
        return self._cost_sum / self._cost_weight if self._cost_weight else None


def prior_quality(spec: ModelSpec, domain: Domain, complexity: float) -> float:
    """Prior mean quality on the 0..10 scale for this domain and complexity."""
    c = min(max(complexity, 0.0), 1.0)
    base = SCALE * min(max(spec.specialty(domain), 0.0), 1.0)
    return min(max(base - COMPLEXITY_PENALTY[spec.tier] * c, 0.0), SCALE)


def pool_stats(stats: Iterable[PerformanceStats]) -> PerformanceStats | None:
    """Merge several records of the same model and domain into one (exact pooled moments)."""
    items = list(stats)
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    n = sum(s.samples for s in items)
    mean = sum(s.samples * s.mean_score for s in items) / n if n else 0.0
    sq = sum(s.samples * (s.score_variance + (s.mean_score - mean) ** 2) for s in items)

    calls = [max(s.successes + s.failures, s.samples, 1) for s in items]

    def by_calls(values: list[float]) -> float:
        return sum(v * w for v, w in zip(values, calls, strict=True)) / sum(calls)

    return PerformanceStats(
        model=items[0].model,
        domain=items[0].domain,
        samples=n,
        mean_score=min(max(mean, 0.0), SCALE),
        score_variance=sq / n if n else 0.0,
        successes=sum(s.successes for s in items),
        failures=sum(s.failures for s in items),
        mean_latency_ms=by_calls([s.mean_latency_ms for s in items]),
        mean_cost_usd=by_calls([s.mean_cost_usd for s in items]),
    )


def quality_posterior(prior_mean: float, stats: PerformanceStats | None) -> QualityEstimate:
    """Normal-Gamma update of the prior with the recorded scores; returns mean and its std."""
    k0 = PRIOR_STRENGTH
    a0 = PRIOR_SHAPE
    b0 = PRIOR_SCORE_VARIANCE * (a0 - 1.0)
    n = stats.samples if stats is not None else 0
    if stats is None or n == 0:
        return QualityEstimate(prior_mean, math.sqrt(b0 / (k0 * (a0 - 1.0))), 0)
    xbar = stats.mean_score
    kn = k0 + n
    mean = (k0 * prior_mean + n * xbar) / kn
    an = a0 + n / 2.0
    bn = b0 + 0.5 * n * stats.score_variance + k0 * n * (xbar - prior_mean) ** 2 / (2.0 * kn)
    std = math.sqrt(bn / (kn * (an - 1.0)))
    return QualityEstimate(min(max(mean, 0.0), SCALE), std, n)


def estimate_quality(
    spec: ModelSpec, domain: Domain, complexity: float, stats: PerformanceStats | None = None
) -> QualityEstimate:
    """The model's expected quality for this domain and complexity, given its history."""
    return quality_posterior(prior_quality(spec, domain, complexity), stats)


def estimate_success(successes: int, failures: int) -> RateEstimate:
    """Beta posterior of the call success rate from counts (prior: 95 % worth 10 calls)."""
    a = SUCCESS_PRIOR_RATE * SUCCESS_PRIOR_STRENGTH + max(successes, 0)
    b = (1.0 - SUCCESS_PRIOR_RATE) * SUCCESS_PRIOR_STRENGTH + max(failures, 0)
    total = a + b
    mean = a / total
    return RateEstimate(mean, math.sqrt(a * b / (total * total * (total + 1.0))))
