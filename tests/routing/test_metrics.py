from __future__ import annotations

import math
import random

import pytest

from orchestratex.bench.routing_metrics import (
    CurvePoint,
    apgr,
    cpt,
    evaluate_scores,
    oracle_scores,
    quality_curve,
    random_baseline,
)

# 100 prompts: the weak model fails the first 20, the strong model solves all.
WEAK = [0.0] * 20 + [1.0] * 80
STRONG = [1.0] * 100


def test_oracle_has_the_known_curve_and_metrics() -> None:
    m = evaluate_scores(oracle_scores(STRONG, WEAK), STRONG, WEAK)
    assert m.curve[0].strong_share == 0.0 and m.curve[0].quality == pytest.approx(0.8)
    assert m.curve[-1].strong_share == 1.0 and m.curve[-1].quality == pytest.approx(1.0)
    # Area: 0..0.2 rises 0.8 -> 1.0, then flat at 1.0: (0.18 + 0.8 - 0.8) / 0.2 = 0.9.
    assert m.apgr == pytest.approx(0.9)
    assert m.cpt50 == pytest.approx(0.10)
    assert m.cpt80 == pytest.approx(0.16)


def test_inverted_router_is_far_below_random() -> None:
    m = evaluate_scores([-g for g in oracle_scores(STRONG, WEAK)], STRONG, WEAK)
    # Flat at 0.8 up to 80% strong calls, then rises to 1.0: (0.64 + 0.18 - 0.8) / 0.2 = 0.1.
    assert m.apgr == pytest.approx(0.1)
    assert m.cpt50 == pytest.approx(0.9)


def test_perfect_continuous_router_matches_the_oracle_ranking() -> None:
    scores = [1.0 + i / 1000 if i < 20 else i / 1000 for i in range(100)]
    m = evaluate_scores(scores, STRONG, WEAK)
    assert m.apgr > 0.85
    assert m.cpt80 is not None and m.cpt80 <= 0.2 + 1e-9


def test_random_router_recovers_about_half() -> None:
    rng = random.Random(1)
    weak = [float(rng.random() < 0.6) for _ in range(1000)]
    strong = [float(rng.random() < 0.85) for _ in range(1000)]
    base = random_baseline(strong, weak, seed=3, draws=100)
    assert base.apgr == pytest.approx(0.5, abs=0.03)
    assert base.cpt50 == pytest.approx(0.5, abs=0.05)
    assert base.cpt80 == pytest.approx(0.8, abs=0.05)
    assert random_baseline(strong, weak, seed=3, draws=100) == base


def test_curve_runs_from_all_weak_to_all_strong_on_quantiles() -> None:
    scores = [i / 99 for i in range(100)]
    curve = quality_curve(scores, STRONG, WEAK)
    assert len(curve) == 11
    assert [round(p.strong_share, 2) for p in curve] == [
        0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0
    ]  # fmt: skip
    assert curve[-1].threshold == 0.0 and curve[0].threshold == 1.0


def test_cpt_is_none_when_the_level_is_never_reached() -> None:
    curve = [CurvePoint(1.0, 0.0, 0.5), CurvePoint(0.0, 1.0, 0.6)]
    assert cpt(curve, 0.5, 0.5, 1.0) is None
    assert math.isnan(apgr(curve, 0.5, 0.5))


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        evaluate_scores([0.1, 0.2], [1.0], [0.0, 1.0])
