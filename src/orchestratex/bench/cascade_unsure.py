"""Start cheap when unsure, measured on the recorded data at each cost level.

Every MT-Bench and GSM8K prompt gets a router verdict from a router that never saw it: two-fold
cross-fitting on the seeded hash split of `bench routing` (train on one half of every benchmark
pooled, with the setting chosen on grouped folds of that half, and score the other half; then
the reverse). At each router threshold t (the 11 quantile edges of the scores, RouteLLM's cost
levels), these policies are compared:

- **router alone**: the strong model when the score reaches t (a prompt the router calls unknown
  carries the router's prior as its score, as in `bench routing`);
- **start cheap when unsure** (band b): a prompt whose score is within b of t, or that the router
  calls unknown, is answered by the weak model first; when the verdict on that answer is under
  the bar (MT-Bench: its recorded GPT-4 judge score under 8.0, the service's default threshold;
  GSM8K: the reference label says wrong, an **upper bound**: a perfect judge), the strong model
  answers too and the better-judged answer is kept (the live engine's best round wins). The other
  prompts follow the router;
- **always weak**, **always strong** and **weak first for all** (`bench routing-cascade`).

Costs: each answer at the model's public price for the prompt's tokens (input = characters / 4,
300 output tokens), as in `bench routing-replay`. Judge calls are not in the cost: every policy
judges each answer it produces; the cascade judges one more answer per escalation, shown as
judged answers per prompt. Gain at equal cost: the cascade's quality minus the router-alone
curve (cost, quality) interpolated at the cascade's cost (None outside that curve's cost range).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from orchestratex.bench.routing_bench import DEFAULT_TEST_FRACTION
from orchestratex.bench.routing_data import RoutingItem, RoutingSet, split
from orchestratex.bench.routing_features import build_bank
from orchestratex.bench.routing_replay import FALLBACK_PRICES, OUTPUT_TOKENS
from orchestratex.bench.routing_semantic import train_semantic, verdicts
from orchestratex.core.catalog import Price
from orchestratex.engine.embeddings import Embedder
from orchestratex.providers.replay_catalog import ANSWER_MODELS, replay_catalog

DEFAULT_BANDS = (0.05, 0.1, 0.2)
MT_BENCH_BAR = 8.0
"""A weak MT-Bench answer judged under this escalates (the service's default threshold)."""
CURVE_POINTS = 10
BENCHMARKS = ("mt_bench", "gsm8k")
VERDICTS = {
    "mt_bench": f"recorded GPT-4 judge score of the weak answer < {MT_BENCH_BAR:g}",
    "gsm8k": "reference label of the weak answer (upper bound: a perfect judge)",
}


@dataclass(frozen=True, slots=True)
class Scored:
    """One prompt with the out-of-fold router verdict on it."""

    item: RoutingItem
    score: float
    known: bool


class Point(BaseModel):
    cost_usd: float
    """Mean answer cost per prompt."""
    quality: float
    strong_share: float
    """Share of prompts the strong model answered."""
    judged_per_prompt: float
    """Answers judged per prompt (1 + the escalated share)."""


class Row(BaseModel):
    threshold: float
    router: Point
    cascade: dict[str, Point]
    """By band ("0.10")."""
    unsure_share: dict[str, float]
    gain_at_equal_cost: dict[str, float | None]


class BenchmarkReport(BaseModel):
    benchmark: str
    prompts: int
    verdict: str
    unknown_share: float
    always_weak: Point
    always_strong: Point
    weak_first_all: Point
    rows: list[Row]
    mean_gain: dict[str, float | None]
    """Mean of the gains at equal cost over the thresholds where it is defined, by band."""


class UnsureReport(BaseModel):
    seed: int
    features: str
    bands: list[float]
    benchmarks: list[BenchmarkReport]


def prompt_costs(items: Sequence[RoutingItem]) -> tuple[np.ndarray, np.ndarray]:
    """Each prompt's strong and weak answer cost (public prices, chars / 4 in, 300 out)."""
    catalog = replay_catalog()
    strong_price, weak_price = (catalog.price(key) or FALLBACK_PRICES[key] for key in ANSWER_MODELS)

    def cost(price: Price) -> np.ndarray:
        tokens = np.asarray([max(len(it.prompt) // 4, 1) for it in items], dtype=np.float64)
        return (tokens * price.input_per_mtok + OUTPUT_TOKENS * price.output_per_mtok) / 1e6

    return cost(strong_price), cost(weak_price)


def _escalates(item: RoutingItem) -> bool:
    """The verdict on the weak answer calls for the strong model."""
    if item.benchmark == "mt_bench":
        return item.weak < MT_BENCH_BAR
    return item.weak < 1.0


def _point(cost: np.ndarray, quality: np.ndarray, strong: np.ndarray, judged: float) -> Point:
    return Point(
        cost_usd=float(cost.mean()),
        quality=float(quality.mean()),
        strong_share=float(strong.mean()),
        judged_per_prompt=judged,
    )


def policy_points(
    scored: Sequence[Scored], threshold: float, band: float | None
) -> tuple[Point, float]:
    """The policy at `threshold` (band None: the router alone) and its share of unsure
    prompts."""
    items = [s.item for s in scored]
    c_strong, c_weak = prompt_costs(items)
    q_strong = np.asarray([it.strong for it in items])
    q_weak = np.asarray([it.weak for it in items])
    score = np.asarray([s.score for s in scored])
    known = np.asarray([s.known for s in scored])
    routed_strong = score >= threshold
    if band is None:
        unsure = np.zeros(len(items), dtype=bool)
    else:
        unsure = ~known | (np.abs(score - threshold) < band)
    up = np.asarray([_escalates(it) for it in items]) & unsure
    plain_strong = routed_strong & ~unsure
    cost = np.where(plain_strong, c_strong, c_weak) + np.where(up, c_strong, 0.0)
    quality = np.where(plain_strong, q_strong, q_weak)
    quality = np.where(up, np.maximum(q_weak, q_strong), quality)
    strong = plain_strong | up
    return _point(cost, quality, strong, 1.0 + float(up.mean())), float(unsure.mean())


def _interp(curve: Sequence[Point], at: Point) -> float | None:
    ordered = sorted(curve, key=lambda p: (p.cost_usd, p.quality))
    xs = [p.cost_usd for p in ordered]
    if not xs[0] <= at.cost_usd <= xs[-1]:
        return None
    return float(at.quality - np.interp(at.cost_usd, xs, [p.quality for p in ordered]))


def measure_benchmark(
    scored: Sequence[Scored], bands: Sequence[float] = DEFAULT_BANDS
) -> BenchmarkReport:
    """Every policy at every threshold on one benchmark's scored prompts."""
    items = [s.item for s in scored]
    c_strong, c_weak = prompt_costs(items)
    q_strong = np.asarray([it.strong for it in items])
    q_weak = np.asarray([it.weak for it in items])
    ones, zeros = np.ones(len(items), dtype=bool), np.zeros(len(items), dtype=bool)
    up = np.asarray([_escalates(it) for it in items])
    weak_first = _point(
        c_weak + np.where(up, c_strong, 0.0),
        np.where(up, np.maximum(q_weak, q_strong), q_weak),
        up,
        1.0 + float(up.mean()),
    )
    edges = np.quantile([s.score for s in scored], np.linspace(0.0, 1.0, CURVE_POINTS + 1))
    thresholds = sorted({float(e) for e in edges} | {float(edges[-1]) + 1e-9})
    rows = []
    for t in thresholds:
        router, _ = policy_points(scored, t, None)
        cascade: dict[str, Point] = {}
        unsure: dict[str, float] = {}
        for b in bands:
            cascade[f"{b:.2f}"], unsure[f"{b:.2f}"] = policy_points(scored, t, b)
        rows.append(
            Row(
                threshold=t,
                router=router,
                cascade=cascade,
                unsure_share=unsure,
                gain_at_equal_cost={},
            )
        )
    curve = [r.router for r in rows]
    mean_gain: dict[str, float | None] = {}
    for b in bands:
        key = f"{b:.2f}"
        gains: list[float] = []
        for row in rows:
            gain = _interp(curve, row.cascade[key])
            row.gain_at_equal_cost[key] = gain
            if gain is not None:
                gains.append(gain)
        mean_gain[key] = float(np.mean(gains)) if gains else None
    return BenchmarkReport(
        benchmark=items[0].benchmark,
        prompts=len(items),
        verdict=VERDICTS.get(items[0].benchmark, "reference label (upper bound)"),
        unknown_share=float(np.mean([not s.known for s in scored])),
        always_weak=_point(c_weak, q_weak, zeros, 1.0),
        always_strong=_point(c_strong, q_strong, ones, 1.0),
        weak_first_all=weak_first,
        rows=rows,
        mean_gain=mean_gain,
    )


def crossfit(
    sets: dict[str, RoutingSet],
    *,
    seed: int = 0,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
) -> dict[str, list[Scored]]:
    """Out-of-fold router verdicts on MT-Bench and GSM8K: each half scored by a router trained
    on the other half of every benchmark (the product router's recipe)."""
    kept = {name: list(s.items)[:limit] for name, s in sets.items()}
    halves = {
        name: split(items, seed=seed, test_fraction=DEFAULT_TEST_FRACTION)
        for name, items in kept.items()
    }
    bank = build_bank([it for items in kept.values() for it in items], embedder, cache_dir)
    out: dict[str, list[Scored]] = {name: [] for name in BENCHMARKS if name in kept}
    for side in (0, 1):
        train = [it for pair in halves.values() for it in pair[side]]
        router, _ = train_semantic(bank, bank.index(train), seed=seed)
        for name in out:
            scored = halves[name][1 - side]
            if not scored:
                continue
            for item, v in zip(scored, verdicts(bank, router, bank.index(scored)), strict=True):
                out[name].append(Scored(item, v.score, v.known))
    return out


def run_unsure(
    sets: dict[str, RoutingSet],
    *,
    seed: int = 0,
    bands: Sequence[float] = DEFAULT_BANDS,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
) -> UnsureReport:
    scored = crossfit(sets, seed=seed, embedder=embedder, cache_dir=cache_dir, limit=limit)
    return UnsureReport(
        seed=seed,
        features="analysis" if embedder is None else f"analysis + {embedder.name}",
        bands=list(bands),
        benchmarks=[measure_benchmark(s, bands) for s in scored.values() if s],
    )


def format_unsure(report: UnsureReport, band: float | None = None) -> str:
    """Markdown tables: per benchmark, each cost level, the router alone against the cascade
    (at `band`, default the middle one), then the mean gain of every band."""
    key = f"{band if band is not None else report.bands[len(report.bands) // 2]:.2f}"
    out = [
        f"Start cheap when unsure: out-of-fold router verdicts (seed {report.seed}, router on "
        f"{report.features}); cascade band {key}"
    ]
    for b in report.benchmarks:
        out += [
            "",
            f"{b.benchmark}: {b.prompts} prompts; verdict = {b.verdict}; "
            f"{b.unknown_share:.1%} called unknown",
            f"always weak ${b.always_weak.cost_usd:.5f} quality {b.always_weak.quality:.3f}; "
            f"always strong ${b.always_strong.cost_usd:.5f} quality "
            f"{b.always_strong.quality:.3f}; weak first for all ${b.weak_first_all.cost_usd:.5f} "
            f"quality {b.weak_first_all.quality:.3f} ({b.weak_first_all.strong_share:.1%} "
            "escalated)",
            "",
            "| threshold | router $/prompt | quality | strong | cascade $/prompt | quality "
            "| strong | unsure | judged/prompt | gain at equal cost |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in b.rows:
            r, c = row.router, row.cascade[key]
            gain = row.gain_at_equal_cost[key]
            out.append(
                f"| {row.threshold:.3f} | ${r.cost_usd:.5f} | {r.quality:.3f} | "
                f"{r.strong_share:.1%} | ${c.cost_usd:.5f} | {c.quality:.3f} | "
                f"{c.strong_share:.1%} | {row.unsure_share[key]:.1%} | "
                f"{c.judged_per_prompt:.2f} | {'-' if gain is None else f'{gain:+.3f}'} |"
            )
        means = ", ".join(
            f"band {k}: {'-' if v is None else f'{v:+.3f}'}" for k, v in b.mean_gain.items()
        )
        out.append(f"mean gain at equal cost over the thresholds: {means}")
    return "\n".join(out)
