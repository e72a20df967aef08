"""The routing benchmark: train the learned router, then measure it against the baselines.

Train on the training split of every benchmark pooled (one router for all, as in the product),
evaluate per benchmark on its test split; with `test_data`, train on all of `data` and evaluate
on all of `test_data`. Baselines: random (expected over seeded draws), always weak, always
strong, oracle (the true per-prompt gain).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from orchestratex.bench.router_io import save
from orchestratex.bench.routing_data import (
    BENCHMARKS,
    LOADERS,
    STRONG_MODEL,
    WEAK_MODEL,
    RoutingItem,
    RoutingSet,
    split,
)
from orchestratex.bench.routing_metrics import (
    RouterMetrics,
    evaluate_scores,
    oracle_scores,
    random_baseline,
)
from orchestratex.engine.router import DEFAULT_L2, LearnedRouter, StopCheck

DEFAULT_TEST_FRACTION = 0.5


class CurvePointOut(BaseModel):
    threshold: float
    strong_share: float
    quality: float


class MethodResult(BaseModel):
    apgr: float
    cpt50: float | None
    cpt80: float | None
    curve: list[CurvePointOut]

    @classmethod
    def of(cls, metrics: RouterMetrics) -> MethodResult:
        return cls(
            apgr=metrics.apgr,
            cpt50=metrics.cpt50,
            cpt80=metrics.cpt80,
            curve=[
                CurvePointOut(threshold=p.threshold, strong_share=p.strong_share, quality=p.quality)
                for p in metrics.curve
            ],
        )


class BenchmarkResult(BaseModel):
    benchmark: str
    train_prompts: int
    test_prompts: int
    contaminated_dropped: int
    weak_quality: float
    strong_quality: float
    learned: MethodResult
    random: MethodResult
    oracle: MethodResult


class RoutingReport(BaseModel):
    strong_model: str
    weak_model: str
    split: str
    seed: int
    l2: float
    train_prompts: int
    train_seconds: float
    score_ms_per_prompt: float
    benchmarks: list[BenchmarkResult]


class ScoreLine(BaseModel):
    benchmark: str
    prompt: str
    strong_score: float


def _load(data_dir: Path, *, required: bool, limit: int | None) -> dict[str, RoutingSet]:
    sets: dict[str, RoutingSet] = {}
    for name in BENCHMARKS:
        if not required and not (data_dir / name).is_dir():
            continue
        loaded = LOADERS[name](data_dir)
        if limit is not None:
            loaded = RoutingSet(name, loaded.items[:limit], loaded.contaminated_dropped)
        sets[name] = loaded
    if not sets:
        raise FileNotFoundError(f"no routing benchmark found under {data_dir}")
    return sets


def fit_router(
    train: Sequence[RoutingItem],
    *,
    seed: int = 0,
    l2: float = DEFAULT_L2,
    stop: StopCheck | None = None,
) -> LearnedRouter:
    """The learned router fitted on `train` (deterministic for a seed)."""
    return LearnedRouter(l2=l2).fit(
        [i.prompt for i in train], [i.target for i in train], seed=seed, stop=stop
    )


def train_on_split(
    data: Path,
    *,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    l2: float = DEFAULT_L2,
    limit: int | None = None,
    stop: StopCheck | None = None,
) -> tuple[LearnedRouter, int]:
    """The router `run_routing_bench` trains (every benchmark's training split, pooled), and
    how many prompts it was trained on. FileNotFoundError when a benchmark is missing."""
    sets = _load(data, required=True, limit=limit)
    train: list[RoutingItem] = []
    for loaded in sets.values():
        train += split(loaded.items, seed=seed, test_fraction=test_fraction)[0]
    return fit_router(train, seed=seed, l2=l2, stop=stop), len(train)


def run_routing_bench(
    data: Path,
    *,
    test_data: Path | None = None,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    l2: float = DEFAULT_L2,
    limit: int | None = None,
    save_router: Path | None = None,
) -> tuple[RoutingReport, list[ScoreLine]]:
    """Train, score the test prompts, and measure; returns the report and per-prompt scores.

    `limit` keeps only the first `limit` prompts of each benchmark (for quick runs);
    `save_router` writes the trained router there as JSON (bench/router_io.py).
    """
    sets = _load(data, required=True, limit=limit)
    train: list[RoutingItem] = []
    tests: dict[str, list[RoutingItem]] = {}
    train_counts: dict[str, int] = {}
    if test_data is None:
        for name, loaded in sets.items():
            tr, te = split(loaded.items, seed=seed, test_fraction=test_fraction)
            train += tr
            tests[name] = te
            train_counts[name] = len(tr)
        dropped = {name: s.contaminated_dropped for name, s in sets.items()}
        how = f"hash split per benchmark, {test_fraction:.0%} test, seed {seed}"
    else:
        for name, loaded in sets.items():
            train += loaded.items
            train_counts[name] = len(loaded.items)
        held = _load(test_data, required=False, limit=limit)
        tests = {name: list(s.items) for name, s in held.items()}
        dropped = {name: s.contaminated_dropped for name, s in held.items()}
        how = f"train on all of {data}, test on all of {test_data}"

    started = time.perf_counter()
    router = fit_router(train, seed=seed, l2=l2)
    train_seconds = time.perf_counter() - started
    if save_router is not None:
        save(router, save_router)

    results: list[BenchmarkResult] = []
    lines: list[ScoreLine] = []
    scored = 0
    started = time.perf_counter()
    for name, items in tests.items():
        if not items:
            continue
        scores = router.strong_scores([i.prompt for i in items])
        scored += len(items)
        lines += [
            ScoreLine(benchmark=name, prompt=i.prompt, strong_score=s)
            for i, s in zip(items, scores, strict=True)
        ]
        results.append(
            _measure(name, items, scores, train_counts.get(name, 0), dropped[name], seed)
        )
    score_seconds = time.perf_counter() - started
    report = RoutingReport(
        strong_model=STRONG_MODEL,
        weak_model=WEAK_MODEL,
        split=how,
        seed=seed,
        l2=l2,
        train_prompts=len(train),
        train_seconds=round(train_seconds, 2),
        score_ms_per_prompt=round(1000.0 * score_seconds / max(scored, 1), 3),
        benchmarks=results,
    )
    return report, lines


def _measure(
    name: str,
    items: Sequence[RoutingItem],
    scores: Sequence[float],
    train_count: int,
    dropped: int,
    seed: int,
) -> BenchmarkResult:
    strong = [i.strong for i in items]
    weak = [i.weak for i in items]
    return BenchmarkResult(
        benchmark=name,
        train_prompts=train_count,
        test_prompts=len(items),
        contaminated_dropped=dropped,
        weak_quality=sum(weak) / len(weak),
        strong_quality=sum(strong) / len(strong),
        learned=MethodResult.of(evaluate_scores(scores, strong, weak)),
        random=MethodResult.of(random_baseline(strong, weak, seed=seed)),
        oracle=MethodResult.of(evaluate_scores(oracle_scores(strong, weak), strong, weak)),
    )


def write_scores(lines: Sequence[ScoreLine], path: Path) -> None:
    """One JSON object per line: benchmark, prompt, strong_score."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line.model_dump(), ensure_ascii=False) + "\n")


def _pct(value: float | None) -> str:
    return "never" if value is None else f"{value:.1%}"


def format_report(report: RoutingReport) -> str:
    """A readable table per benchmark."""
    out = [
        f"Routing: strong {report.strong_model}, weak {report.weak_model}",
        f"Split: {report.split}; trained on {report.train_prompts} prompts in "
        f"{report.train_seconds:.1f} s; scoring {report.score_ms_per_prompt:.2f} ms/prompt",
    ]
    for b in report.benchmarks:
        out += [
            "",
            f"{b.benchmark}: {b.test_prompts} test prompts ({b.train_prompts} train, "
            f"{b.contaminated_dropped} contaminated dropped); "
            f"quality weak {b.weak_quality:.3f}, strong {b.strong_quality:.3f}",
            f"  {'method':<14}{'APGR':>8}{'CPT(50%)':>11}{'CPT(80%)':>11}",
        ]
        for label, m in (("learned", b.learned), ("random", b.random), ("oracle", b.oracle)):
            out.append(f"  {label:<14}{m.apgr:>8.3f}{_pct(m.cpt50):>11}{_pct(m.cpt80):>11}")
        out.append(f"  {'always weak':<14}{0.0:>8.3f}{'never':>11}{'never':>11}")
        out.append(f"  {'always strong':<14}{1.0:>8.3f}{'100.0%':>11}{'100.0%':>11}")
    return "\n".join(out)
