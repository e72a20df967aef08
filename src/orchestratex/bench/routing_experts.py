"""Which kinds of prompt get a model of their own: decided on held-out folds of training rows.

A kind (a benchmark of the recorded data) with at least MIN_EXPERT_ROWS training rows is dealt
into INNER_FOLDS folds (by MMLU subject when it has subjects, else by a hash of the prompt). On
each fold, the pooled setting (fitted on every other training row, of every kind) and each
expert setting of the same grid (fitted on the kind's other rows only) score the held-out rows.
The best expert setting is used only when it beats the pooled setting clearly: its mean paired
gain over the folds must exceed one standard error of that gain (the one-standard-error rule,
which keeps the simpler pooled model when the folds cannot tell them apart). Smaller kinds
(MT-Bench's few dozen questions) never get one: their folds are too small to choose on. No test
row is ever read.
"""

from __future__ import annotations

import numpy as np

from orchestratex.bench.routing_features import FeatureBank, IntArray
from orchestratex.bench.routing_fold import inner_folds
from orchestratex.bench.routing_select import (
    INNER_FOLDS,
    ExpertChoice,
    best_of,
    candidate,
    expert_grid_for,
    grid_figures,
)
from orchestratex.engine.semantic_model import RouterConfig
from orchestratex.engine.semantic_train import StopCheck

MIN_EXPERT_ROWS = 200
"""A kind needs this many training rows (50 a fold) before an expert is tried for it."""


def kinds_of(bank: FeatureBank, rows: IntArray) -> list[str]:
    """The kind of each row: the benchmark its prompt came from."""
    return [bank.items[r].benchmark for r in rows]


def select_experts(
    bank: FeatureBank,
    rows: IntArray,
    pooled: RouterConfig,
    *,
    folds: int = INNER_FOLDS,
    seed: int = 0,
    stop: StopCheck | None = None,
) -> tuple[dict[str, RouterConfig], list[ExpertChoice]]:
    """The expert setting of each kind that earns one, and the evidence for every kind."""
    grid = expert_grid_for(bank)
    kinds = np.asarray(kinds_of(bank, rows))
    if len(set(kinds.tolist())) < 2:
        return {}, []
    chosen: dict[str, RouterConfig] = {}
    evidence: list[ExpertChoice] = []
    for kind in sorted(set(kinds.tolist())):
        own = rows[kinds == kind]
        if len(own) < MIN_EXPERT_ROWS:
            evidence.append(ExpertChoice(kind=kind, train_prompts=len(own)))
            continue
        valid = inner_folds(bank, own, folds, seed)
        others = rows[kinds != kind]
        pooled_figures = grid_figures(bank, own, valid, [pooled], train_extra=others, stop=stop)
        pooled_mean = candidate(pooled, pooled_figures[pooled]).mean_apgr
        figures = grid_figures(bank, own, valid, grid, stop=stop)
        best, _, _, spread = best_of(grid, figures)
        best_candidate = candidate(best, figures[best])
        used = clearly_better(figures[best], pooled_figures[pooled])
        if used:
            chosen[kind] = best
        evidence.append(
            ExpertChoice(
                kind=kind,
                train_prompts=len(own),
                pooled_apgr=pooled_mean,
                best=best_candidate,
                neighbour_spread=spread,
                used=used,
            )
        )
    return chosen, evidence


def clearly_better(expert: list[float], pooled: list[float]) -> bool:
    """Whether the mean paired gain of `expert` over `pooled` exceeds its standard error."""
    gain = np.asarray(expert, dtype=np.float64) - np.asarray(pooled, dtype=np.float64)
    gain = gain[np.isfinite(gain)]
    if len(gain) < 2:
        return False
    se = float(gain.std(ddof=1)) / float(np.sqrt(len(gain)))
    return float(gain.mean()) > se
