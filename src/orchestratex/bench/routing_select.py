"""Choosing the router's setting honestly: on grouped folds of the training data only.

Every setting in the grid is scored by grouped cross-validation inside the training rows (MMLU
subjects dealt into INNER_FOLDS folds; MT-Bench and GSM8K rows always train): mean APGR over the
held-out folds. The best mean wins. Its neighbours (the same model one grid step away in one
hyperparameter) are reported too, with the largest difference, so a reader sees whether the
chosen figure is a plateau or a lucky spike. Called inside each outer fold, this makes the
grouped evaluation nested: the outer test subjects never influence the choice.

Then each kind of prompt (benchmark) with at least MIN_EXPERT_ROWS training rows may get an
expert, a model of its own rows only (bench/routing_experts.py): on that kind's inner folds,
the best expert setting must beat the pooled setting's figure on the same folds.

Each inner fold's fitting work is shared by every setting (bench/routing_fold.py), so the grid
costs about one ridge solve and one neighbour search per fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from pydantic import BaseModel

from orchestratex.bench.routing_features import FeatureBank, IntArray
from orchestratex.bench.routing_fold import FoldWork, inner_folds
from orchestratex.bench.routing_metrics import evaluate_scores
from orchestratex.engine.semantic_model import RouterConfig
from orchestratex.engine.semantic_train import StopCheck

INNER_FOLDS = 4
ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0)
KS = (25, 50, 100, 200, 400)
WITHIN_WEIGHTS = (0.5, 1.0)
WITHIN_ALPHAS = (1.0, 10.0, 100.0)
"""The within-subject part a pooled ridge may add (engine/semantic_within.py): its weight
against the ridge's spread and its own penalty; weight 0, the setting without it, comes first,
so that a tie keeps the simpler model."""
BASE_EMBEDDING_GRID: tuple[RouterConfig, ...] = (
    *(RouterConfig("ridge", alpha=a) for a in ALPHAS),
    *(RouterConfig("knn", k=k) for k in KS),
    *(RouterConfig("blend", alpha=a, k=k) for a in (3.0, 10.0, 30.0) for k in (50, 100, 200)),
)
BASE_ANALYSIS_GRID: tuple[RouterConfig, ...] = tuple(
    RouterConfig("ridge", alpha=a, embeddings=False) for a in (0.1, 0.3, *ALPHAS)
)


def with_within(grid: Sequence[RouterConfig]) -> tuple[RouterConfig, ...]:
    """Every setting, then each ridge with each within-subject part."""
    within = tuple(
        replace(c, within=w, within_alpha=a)
        for c in grid
        if not c.uses_knn()
        for w in WITHIN_WEIGHTS
        for a in WITHIN_ALPHAS
    )
    return (*grid, *within)


EMBEDDING_GRID = with_within(BASE_EMBEDDING_GRID)
ANALYSIS_GRID = with_within(BASE_ANALYSIS_GRID)
"""The pooled model's grids: with embeddings, without (the analysis-only fallback)."""


EXPERT_ANALYSIS_GRID: tuple[RouterConfig, ...] = (
    *BASE_ANALYSIS_GRID,
    *(replace(c, numbers=True) for c in BASE_ANALYSIS_GRID),
)
"""A kind's expert without embeddings may also read the number-and-step counts. With
embeddings it may not: they did not raise the GSM8K expert's inner figure there
(docs/benchmarks.md, Routing). An expert has no within-subject part: its rows are one kind."""


def grid_for(bank: FeatureBank) -> tuple[RouterConfig, ...]:
    """The settings that can be tried: with embeddings when the bank has them."""
    return EMBEDDING_GRID if bank.emb is not None else ANALYSIS_GRID


def expert_grid_for(bank: FeatureBank) -> tuple[RouterConfig, ...]:
    """The settings a kind's expert can try."""
    return BASE_EMBEDDING_GRID if bank.emb is not None else EXPERT_ANALYSIS_GRID


class Candidate(BaseModel):
    setting: str
    mean_apgr: float
    worst_apgr: float


class ExpertChoice(BaseModel):
    """Whether one kind of prompt got a model of its own, and the evidence."""

    kind: str
    train_prompts: int
    pooled_apgr: float | None = None
    """The pooled setting's mean APGR on this kind's inner folds (None: too few rows to try)."""
    best: Candidate | None = None
    """The best expert setting on the same folds."""
    neighbour_spread: float = 0.0
    used: bool = False


class Selection(BaseModel):
    chosen: str
    mean_apgr: float
    worst_apgr: float
    neighbours: list[Candidate]
    neighbour_spread: float
    """Largest |mean APGR difference| between the chosen setting and a neighbour."""
    candidates: list[Candidate]
    experts: list[ExpertChoice] = []


def neighbours(config: RouterConfig, grid: Sequence[RouterConfig]) -> list[RouterConfig]:
    """Settings of the same model, features and within-subject part one grid step away in
    alpha or in k."""
    same = [
        c
        for c in grid
        if c.model == config.model
        and c.embeddings == config.embeddings
        and c.numbers == config.numbers
        and (c.within, c.within_alpha) == (config.within, config.within_alpha)
        and c != config
    ]
    out: list[RouterConfig] = []
    for attr in ("alpha", "k"):
        values = sorted({getattr(c, attr) for c in [*same, config]})
        here = values.index(getattr(config, attr))
        other = "k" if attr == "alpha" else "alpha"
        for j in (here - 1, here + 1):
            if 0 <= j < len(values):
                out += [
                    c
                    for c in same
                    if getattr(c, attr) == values[j] and getattr(c, other) == getattr(config, other)
                ]
    return out


def grid_figures(
    bank: FeatureBank,
    rows: IntArray,
    folds: list[IntArray],
    grid: Sequence[RouterConfig],
    *,
    train_extra: IntArray | None = None,
    stop: StopCheck | None = None,
) -> dict[RouterConfig, list[float]]:
    """APGR of every setting on every fold of `rows` (trained on the rest of `rows`, plus
    `train_extra` when given)."""
    figures: dict[RouterConfig, list[float]] = {c: [] for c in grid}
    for test in folds:
        if len(test) == 0:
            continue
        train = np.setdiff1d(rows, test)
        if train_extra is not None:
            train = np.concatenate([train, train_extra])
        work = FoldWork(bank, train, test)
        strong = [bank.items[r].strong for r in test]
        weak = [bank.items[r].weak for r in test]
        for config in grid:
            if stop is not None and stop():
                raise InterruptedError("training stopped")
            scores = work.scores(config)
            figures[config].append(evaluate_scores(scores.tolist(), strong, weak).apgr)
    return figures


def candidate(config: RouterConfig, figures: Sequence[float]) -> Candidate:
    return Candidate(
        setting=config.label,
        mean_apgr=float(np.nanmean(figures)),
        worst_apgr=float(np.nanmin(figures)),
    )


def best_of(
    grid: Sequence[RouterConfig], figures: dict[RouterConfig, list[float]]
) -> tuple[RouterConfig, list[Candidate], list[Candidate], float]:
    """The best setting by mean figure, every candidate, its neighbours and their spread."""
    table = [candidate(c, figures[c]) for c in grid]
    best_i = max(range(len(grid)), key=lambda i: table[i].mean_apgr)
    near = [candidate(c, figures[c]) for c in neighbours(grid[best_i], grid)]
    spread = max((abs(n.mean_apgr - table[best_i].mean_apgr) for n in near), default=0.0)
    return grid[best_i], table, near, spread


def select_setting(
    bank: FeatureBank,
    rows: IntArray,
    *,
    grid: Sequence[RouterConfig] | None = None,
    folds: int = INNER_FOLDS,
    seed: int = 0,
    stop: StopCheck | None = None,
) -> tuple[RouterConfig, Selection]:
    """The grid setting with the best mean grouped APGR inside `rows`, and the evidence."""
    grid = tuple(grid or grid_for(bank))
    figures = grid_figures(bank, rows, inner_folds(bank, rows, folds, seed), grid, stop=stop)
    best, table, near, spread = best_of(grid, figures)
    chosen = candidate(best, figures[best])
    return best, Selection(
        chosen=best.label,
        mean_apgr=chosen.mean_apgr,
        worst_apgr=chosen.worst_apgr,
        neighbours=near,
        neighbour_spread=spread,
        candidates=table,
    )
