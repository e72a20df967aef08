"""The routing benchmark: train the learned router, then measure it against the baselines.

Headline: grouped cross-validation by MMLU subject (bench/routing_grouped.py), where no subject
is in both train and test, with the setting chosen inside each fold's training data
(bench/routing_select.py). Beside it, the random split: train on the training split of every
benchmark pooled (one router for all, as in the product), evaluate per benchmark on its test
split; with `test_data`, train on all of `data` and evaluate on all of `test_data`. Baselines:
random (expected over seeded draws), always weak, always strong, oracle (the true per-prompt
gain); with `compare_hashed`, the previous hashed-word router too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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
from orchestratex.bench.routing_features import FeatureBank, build_bank
from orchestratex.bench.routing_grouped import (
    DEFAULT_FOLDS,
    GroupedResult,
    grouped_cv,
    within_subject_apgr,
)
from orchestratex.bench.routing_metrics import evaluate_scores, oracle_scores, random_baseline
from orchestratex.bench.routing_report import (
    BenchmarkResult,
    MethodResult,
    RoutingReport,
    ScoreLine,
)
from orchestratex.bench.routing_select import Selection
from orchestratex.bench.routing_semantic import (
    expert_shares,
    semantic_scorer,
    train_semantic,
    unknown_share,
    verdicts,
)
from orchestratex.engine.embeddings import Embedder, default_embedder
from orchestratex.engine.router import DEFAULT_L2, LearnedRouter, StopCheck
from orchestratex.engine.semantic_router import SemanticRouter

DEFAULT_TEST_FRACTION = 0.5


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
    """The previous hashed-word router fitted on `train` (deterministic for a seed)."""
    return LearnedRouter(l2=l2).fit(
        [i.prompt for i in train], [i.target for i in train], seed=seed, stop=stop
    )


def train_on_split(
    data: Path,
    *,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    limit: int | None = None,
    stop: StopCheck | None = None,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
) -> tuple[SemanticRouter, int]:
    """The router `run_routing_bench` trains (every benchmark's training split, pooled, setting
    chosen on grouped folds of it), and how many prompts it was trained on.
    FileNotFoundError when a benchmark is missing."""
    sets = _load(data, required=True, limit=limit)
    train: list[RoutingItem] = []
    for loaded in sets.values():
        train += split(loaded.items, seed=seed, test_fraction=test_fraction)[0]
    bank = build_bank(train, embedder, cache_dir, stop)
    router, _ = train_semantic(bank, bank.index(train), seed=seed, stop=stop)
    router.embedder = embedder
    return router, len(train)


def run_routing_bench(
    data: Path,
    *,
    test_data: Path | None = None,
    seed: int = 0,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    limit: int | None = None,
    save_router: Path | None = None,
    embeddings: bool = True,
    cache_dir: Path | None = None,
    folds: int = DEFAULT_FOLDS,
    compare_hashed: bool = False,
) -> tuple[RoutingReport, list[ScoreLine]]:
    """Grouped evaluation, then train, score the test prompts, and measure.

    `limit` keeps only the first `limit` prompts of each benchmark (for quick runs);
    `save_router` writes the trained router there as JSON (bench/router_io.py); `embeddings`
    False (or the extra absent) uses the non-topical analysis-only router.
    """
    run_started = time.perf_counter()
    embedder = default_embedder() if embeddings else None
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
    every = [it for s in sets.values() for it in s.items]
    if test_data is not None:
        every += [it for items in tests.values() for it in items]
    started = time.perf_counter()
    bank = build_bank(every, embedder, cache_dir)
    feature_seconds = time.perf_counter() - started

    grouped, grouped_hashed, fold_choices = _grouped(sets, bank, folds, seed, compare_hashed)

    started = time.perf_counter()
    router, selection = train_semantic(bank, bank.index(train), seed=seed)
    train_seconds = time.perf_counter() - started
    hashed = fit_router(train, seed=seed) if compare_hashed else None
    if save_router is not None:
        save(router, save_router)

    results: list[BenchmarkResult] = []
    lines: list[ScoreLine] = []
    within: float | None = None
    for name, items in tests.items():
        if not items:
            continue
        found = verdicts(bank, router, bank.index(items))
        scores = [v.score for v in found]
        lines += [
            ScoreLine(benchmark=name, prompt=i.prompt, strong_score=s)
            for i, s in zip(items, scores, strict=True)
        ]
        other = None if hashed is None else hashed.strong_scores([i.prompt for i in items])
        result = _measure(
            name, items, scores, other, train_counts.get(name, 0), dropped[name], seed
        )
        result.unknown_share = unknown_share(found)
        result.expert_shares = expert_shares(found)
        results.append(result)
        if name == "mmlu" and len({i.group for i in items}) > 1:
            within = within_subject_apgr(items, scores)[0]
    report = RoutingReport(
        strong_model=STRONG_MODEL,
        weak_model=WEAK_MODEL,
        router=router.config.label,
        embedding_model=bank.embedding_model,
        split=how,
        seed=seed,
        train_prompts=len(train),
        feature_seconds=round(feature_seconds, 2),
        train_seconds=round(train_seconds, 2),
        selection=selection,
        ood_threshold=router.ood_threshold,
        benchmarks=results,
        mmlu_within_subject_apgr=within,
        grouped=grouped,
        grouped_settings=fold_choices,
        grouped_hashed=grouped_hashed,
        total_seconds=round(time.perf_counter() - run_started, 1),
    )
    return report, lines


def _grouped(
    sets: dict[str, RoutingSet],
    bank: FeatureBank,
    folds: int,
    seed: int,
    compare_hashed: bool,
) -> tuple[GroupedResult | None, GroupedResult | None, list[Selection]]:
    """Grouped CV by MMLU subject (None when there are fewer subjects than folds)."""
    mmlu = list(sets["mmlu"].items)
    if len({it.group for it in mmlu}) < folds:
        return None, None, []
    others = [it for name, s in sets.items() if name != "mmlu" for it in s.items]
    chosen: list[Selection] = []
    grouped = grouped_cv(
        mmlu, others, semantic_scorer(bank, seed=seed, chosen=chosen), folds=folds, seed=seed
    )
    grouped_hashed = None
    if compare_hashed:

        def hashed_scores(tr: Sequence[RoutingItem], te: Sequence[RoutingItem]) -> list[float]:
            return fit_router(tr, seed=seed).strong_scores([i.prompt for i in te])

        grouped_hashed = grouped_cv(mmlu, others, hashed_scores, folds=folds, seed=seed)
    return grouped, grouped_hashed, chosen


def _measure(
    name: str,
    items: Sequence[RoutingItem],
    scores: Sequence[float],
    hashed: Sequence[float] | None,
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
        weak_quality=float(np.mean(weak)),
        strong_quality=float(np.mean(strong)),
        learned=MethodResult.of(evaluate_scores(scores, strong, weak)),
        hashed=None if hashed is None else MethodResult.of(evaluate_scores(hashed, strong, weak)),
        random=MethodResult.of(random_baseline(strong, weak, seed=seed)),
        oracle=MethodResult.of(evaluate_scores(oracle_scores(strong, weak), strong, weak)),
    )


def write_scores(lines: Sequence[ScoreLine], path: Path) -> None:
    """One JSON object per line: benchmark, prompt, strong_score."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line.model_dump(), ensure_ascii=False) + "\n")
