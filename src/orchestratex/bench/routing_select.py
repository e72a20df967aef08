"""Choosing the router's setting honestly: on grouped folds of the training data only.

Every setting in the grid is scored by grouped cross-validation inside the training rows (MMLU
subjects dealt into INNER_FOLDS folds; MT-Bench and GSM8K rows always train): mean APGR over the
held-out folds. The best mean wins. Its neighbours (the same model one grid step away in one
hyperparameter) are reported too, with the largest difference, so a reader sees whether the
chosen figure is a plateau or a lucky spike. Called inside each outer fold, this makes the
grouped evaluation nested: the outer test subjects never influence the choice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from orchestratex.bench.routing_features import FeatureBank, IntArray
from orchestratex.bench.routing_grouped import subject_folds
from orchestratex.bench.routing_metrics import evaluate_scores
from orchestratex.engine.semantic_model import RouterConfig, fit_model, raw_scores
from orchestratex.engine.semantic_train import StopCheck, assign_folds, standardisation

INNER_FOLDS = 4
ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0)
KS = (25, 50, 100, 200, 400)
EMBEDDING_GRID: tuple[RouterConfig, ...] = (
    *(RouterConfig("ridge", alpha=a) for a in ALPHAS),
    *(RouterConfig("knn", k=k) for k in KS),
    *(RouterConfig("blend", alpha=a, k=k) for a in (3.0, 10.0, 30.0) for k in (50, 100, 200)),
)
ANALYSIS_GRID: tuple[RouterConfig, ...] = tuple(
    RouterConfig("ridge", alpha=a, embeddings=False) for a in (0.1, 0.3, *ALPHAS)
)


def grid_for(bank: FeatureBank) -> tuple[RouterConfig, ...]:
    """The settings that can be tried: with embeddings when the bank has them."""
    return EMBEDDING_GRID if bank.emb is not None else ANALYSIS_GRID


class Candidate(BaseModel):
    setting: str
    mean_apgr: float
    worst_apgr: float


class Selection(BaseModel):
    chosen: str
    mean_apgr: float
    worst_apgr: float
    neighbours: list[Candidate]
    neighbour_spread: float
    """Largest |mean APGR difference| between the chosen setting and a neighbour."""
    candidates: list[Candidate]


def neighbours(config: RouterConfig, grid: Sequence[RouterConfig]) -> list[RouterConfig]:
    """Settings of the same model one grid step away in alpha or in k."""
    same = [
        c
        for c in grid
        if c.model == config.model and c.embeddings == config.embeddings and c != config
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


def _inner_folds(bank: FeatureBank, rows: IntArray, folds: int, seed: int) -> list[IntArray]:
    """Rows of each inner validation fold: MMLU subjects when there are enough of them, else
    every row by a hash of its prompt (small data sets)."""
    items = [bank.items[r] for r in rows]
    subjects = {it.group for it in items if it.group}
    if len(subjects) >= folds:
        groups = subject_folds([it for it in items if it.group], folds, seed)
        fold_of = {s: f for f, g in enumerate(groups) for s in g}
        ids = [fold_of.get(it.group, -1) for it in items]
    else:
        ids = assign_folds([""] * len(items), [it.prompt for it in items], folds, seed).tolist()
    return [
        np.asarray([r for r, i in zip(rows, ids, strict=True) if i == f], dtype=np.int64)
        for f in range(folds)
    ]


def score_setting(
    bank: FeatureBank, train: IntArray, test: IntArray, config: RouterConfig
) -> np.ndarray:
    """Raw scores of `test` rows from `config` fitted on `train` rows."""
    mean, std = standardisation(bank.ana[train])
    model = fit_model(
        bank.emb_rows(train) if config.embeddings else None,
        (bank.ana[train] - mean) / std,
        bank.gain[train],
        config,
    )
    return raw_scores(
        model, bank.emb_rows(test) if config.embeddings else None, (bank.ana[test] - mean) / std
    )


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
    valid = _inner_folds(bank, rows, folds, seed)
    figures: dict[RouterConfig, list[float]] = {c: [] for c in grid}
    for test in valid:
        if len(test) == 0:
            continue
        train = np.setdiff1d(rows, test)
        strong = [bank.items[r].strong for r in test]
        weak = [bank.items[r].weak for r in test]
        for config in grid:
            if stop is not None and stop():
                raise InterruptedError("training stopped")
            scores = score_setting(bank, train, test, config)
            figures[config].append(evaluate_scores(scores.tolist(), strong, weak).apgr)

    def candidate(c: RouterConfig) -> Candidate:
        return Candidate(
            setting=c.label,
            mean_apgr=float(np.nanmean(figures[c])),
            worst_apgr=float(np.nanmin(figures[c])),
        )

    table = [candidate(c) for c in grid]
    best_i = max(range(len(grid)), key=lambda i: table[i].mean_apgr)
    best = grid[best_i]
    near = [candidate(c) for c in neighbours(best, grid)]
    spread = max((abs(n.mean_apgr - table[best_i].mean_apgr) for n in near), default=0.0)
    return best, Selection(
        chosen=best.label,
        mean_apgr=table[best_i].mean_apgr,
        worst_apgr=table[best_i].worst_apgr,
        neighbours=near,
        neighbour_spread=spread,
        candidates=table,
    )
