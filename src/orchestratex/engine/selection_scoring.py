"""The weighted score of each model: quality, cost and latency goods under the preferences.

Each good is in 0..1, measured against the best eligible model on a fixed scale: optimistic
expected quality (0 at `QUALITY_SCALE` points behind the best), cost (0 at 100x the cheapest)
and latency (0 at 10x the fastest). The preference-weighted sum is multiplied by the model's
live health score and its estimated call success rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from orchestratex.core.orchestration import CandidateScore, Preferences
from orchestratex.engine.selection_reasons import COST_FLOOR_USD, Facts, Ranking

QUALITY_SCALE = 2.5
"""Points behind the best eligible model at which quality goodness reaches 0."""
COST_DECADES = 2.0
"""Cost goodness reaches 0 at 100x the cheapest eligible model's expected cost."""
LATENCY_DECADES = 1.0
"""Latency goodness reaches 0 at 10x the fastest eligible model's expected latency."""


def weights(preferences: Preferences) -> tuple[float, float, float]:
    """(quality, cost, latency) weights summing to 1 (all quality when they are all 0)."""
    raw = (preferences.quality_weight, preferences.cost_weight, preferences.latency_weight)
    total = sum(raw)
    if total <= 0.0:
        return (1.0, 0.0, 0.0)
    return (raw[0] / total, raw[1] / total, raw[2] / total)


def _clip(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _decades(value: float, best: float, floor: float) -> float:
    """How many factors of ten `value` is above `best` (both shifted by `floor`)."""
    return math.log10((value + floor) / (best + floor))


def score_facts(facts: Mapping[str, Facts], preferences: Preferences) -> Ranking:
    """Every model's candidate score, best first; excluded models last."""
    w = weights(preferences)
    basis = [f for f in facts.values() if f.excluded is None] or list(facts.values())
    candidates: list[CandidateScore] = []
    if basis:
        q_best = max(f.optimistic for f in basis)
        c_min = min(f.cost for f in basis)
        l_min = min(f.latency for f in basis)
        for f in facts.values():
            goods = (
                _clip(1.0 - (q_best - f.optimistic) / QUALITY_SCALE),
                _clip(1.0 - _decades(f.cost, c_min, COST_FLOOR_USD) / COST_DECADES),
                _clip(1.0 - _decades(f.latency, l_min, 1.0) / LATENCY_DECADES),
            )
            weighted = sum(wi * g for wi, g in zip(w, goods, strict=True))
            candidates.append(
                CandidateScore(
                    model=f.spec.key,
                    expected_quality=f.quality.mean,
                    quality_uncertainty=f.quality.std,
                    expected_cost_usd=f.cost,
                    expected_latency_ms=f.latency,
                    health=f.health_score,
                    score=weighted * f.health_score * f.reliability,
                    excluded=f.excluded,
                )
            )
    candidates.sort(
        key=lambda c: (
            c.excluded is not None,
            -c.score,
            -c.expected_quality,
            c.expected_cost_usd,
            c.model,
        )
    )
    return Ranking(dict(facts), candidates, w)
