"""Routing metrics as RouteLLM defines them (routellm/evals/evaluate.py and benchmarks.py).

Given a router's score per prompt (higher = send to the strong model):
- thresholds are the 11 edges of 10 equal-count quantile bins of the scores (linear
  interpolation, as `pandas.qcut`); at each edge a prompt goes to the strong model when its
  score is >= the edge, except at the top edge where it must be > the edge (so the curve runs
  from 100% strong calls to 0%);
- each threshold gives a point (share of strong calls, mean quality of the routed answers);
- APGR = (area under quality vs share - weak x share span) / ((strong - weak) x share span), the
  trapezoidal area, i.e. the performance gap recovered averaged over the share of strong calls;
- CPT(x) = the share of strong calls at which quality first reaches weak + x (strong - weak),
  interpolated linearly along the curve (RouteLLM's `np.interp` on a monotone curve).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_POINTS = 10
RANDOM_DRAWS = 200


@dataclass(frozen=True, slots=True)
class CurvePoint:
    threshold: float
    strong_share: float
    quality: float


@dataclass(frozen=True, slots=True)
class RouterMetrics:
    apgr: float
    cpt50: float | None
    cpt80: float | None
    curve: tuple[CurvePoint, ...]


def _arrays(
    scores: Sequence[float], strong: Sequence[float], weak: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    q_strong = np.asarray(strong, dtype=np.float64)
    q_weak = np.asarray(weak, dtype=np.float64)
    if not (len(s) == len(q_strong) == len(q_weak)) or len(s) == 0:
        raise ValueError("scores, strong and weak need the same non-zero length")
    return s, q_strong, q_weak


def quality_curve(
    scores: Sequence[float],
    strong: Sequence[float],
    weak: Sequence[float],
    points: int = DEFAULT_POINTS,
) -> list[CurvePoint]:
    """(threshold, share of strong calls, mean quality) at each quantile edge, by share."""
    s, q_strong, q_weak = _arrays(scores, strong, weak)
    edges = np.quantile(s, np.linspace(0.0, 1.0, points + 1))
    curve: list[CurvePoint] = []
    for i, edge in enumerate(edges):
        pick = s > edge if i == len(edges) - 1 else s >= edge
        quality = float(np.where(pick, q_strong, q_weak).mean())
        curve.append(CurvePoint(float(edge), float(pick.mean()), quality))
    curve.sort(key=lambda p: (p.strong_share, p.quality))
    return curve


def apgr(curve: Sequence[CurvePoint], weak_quality: float, strong_quality: float) -> float:
    """Average performance gap recovered: normalised trapezoidal area under the curve."""
    x = np.array([p.strong_share for p in curve])
    y = np.array([p.quality for p in curve])
    span = float(x[-1] - x[0])
    gap = strong_quality - weak_quality
    if span <= 0.0 or gap == 0.0:
        return float("nan")
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return (area - weak_quality * span) / (gap * span)


def cpt(
    curve: Sequence[CurvePoint], fraction: float, weak_quality: float, strong_quality: float
) -> float | None:
    """Least share of strong calls at which quality reaches `fraction` of the gap; None if never."""
    target = weak_quality + fraction * (strong_quality - weak_quality)
    prev: CurvePoint | None = None
    for point in curve:
        if point.quality >= target:
            if prev is None or point.quality == prev.quality:
                return point.strong_share
            t = (target - prev.quality) / (point.quality - prev.quality)
            return prev.strong_share + t * (point.strong_share - prev.strong_share)
        prev = point
    return None


def evaluate_scores(
    scores: Sequence[float],
    strong: Sequence[float],
    weak: Sequence[float],
    points: int = DEFAULT_POINTS,
) -> RouterMetrics:
    """APGR, CPT(50%), CPT(80%) and the curve of one router on one evaluation set."""
    curve = quality_curve(scores, strong, weak, points)
    q_strong = float(np.mean(strong))
    q_weak = float(np.mean(weak))
    return RouterMetrics(
        apgr=apgr(curve, q_weak, q_strong),
        cpt50=cpt(curve, 0.5, q_weak, q_strong),
        cpt80=cpt(curve, 0.8, q_weak, q_strong),
        curve=tuple(curve),
    )


def oracle_scores(strong: Sequence[float], weak: Sequence[float]) -> list[float]:
    """The oracle router's scores: the true quality gain of the strong model per prompt."""
    return [float(a - b) for a, b in zip(strong, weak, strict=True)]


def random_baseline(
    strong: Sequence[float],
    weak: Sequence[float],
    *,
    seed: int = 0,
    draws: int = RANDOM_DRAWS,
    points: int = DEFAULT_POINTS,
) -> RouterMetrics:
    """Expected metrics of a router with uniform random scores, averaged over seeded draws.

    The curve is the mean curve; CPTs are means over the draws that reach the level.
    """
    rng = np.random.default_rng(seed)
    runs = [
        evaluate_scores(rng.random(len(strong)).tolist(), strong, weak, points)
        for _ in range(draws)
    ]
    mean_curve = tuple(
        CurvePoint(
            threshold=float(np.mean([r.curve[i].threshold for r in runs])),
            strong_share=float(np.mean([r.curve[i].strong_share for r in runs])),
            quality=float(np.mean([r.curve[i].quality for r in runs])),
        )
        for i in range(len(runs[0].curve))
    )

    def mean_of(values: list[float | None]) -> float | None:
        got = [v for v in values if v is not None]
        return float(np.mean(got)) if got else None

    return RouterMetrics(
        apgr=float(np.mean([r.apgr for r in runs])),
        cpt50=mean_of([r.cpt50 for r in runs]),
        cpt80=mean_of([r.cpt80 for r in runs]),
        curve=mean_curve,
    )
