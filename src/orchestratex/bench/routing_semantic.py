"""Training and scoring the semantic router in the benchmark, with nested setting selection.

`train_semantic` chooses the setting on grouped folds of the given training rows
(bench/routing_select.py) and which kinds of prompt get an expert (bench/routing_experts.py),
then fits the calibrated router on all of them (engine/semantic_train.py). `semantic_scorer`
wraps that as a grouped-evaluation scorer, so each outer fold chooses its own setting and experts
without seeing its test subjects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_experts import kinds_of, select_experts
from orchestratex.bench.routing_features import FeatureBank, IntArray
from orchestratex.bench.routing_grouped import Scorer
from orchestratex.bench.routing_select import Selection, select_setting
from orchestratex.engine.semantic_model import RouterConfig
from orchestratex.engine.semantic_router import RouterVerdict, SemanticRouter
from orchestratex.engine.semantic_train import (
    CALIBRATION_FOLDS,
    StopCheck,
    assign_folds,
    fit_semantic,
)


def fit_rows(
    bank: FeatureBank,
    rows: IntArray,
    config: RouterConfig,
    *,
    experts: dict[str, RouterConfig] | None = None,
    seed: int = 0,
    stop: StopCheck | None = None,
) -> SemanticRouter:
    """The calibrated router of `config` (and `experts`) fitted on `rows` of the bank."""
    items = [bank.items[r] for r in rows]
    fold_ids = assign_folds(
        [it.group for it in items], [it.prompt for it in items], CALIBRATION_FOLDS, seed
    )
    return fit_semantic(
        bank.emb_rows(rows),
        bank.ana[rows],
        bank.names,
        bank.need[rows],
        bank.need[rows],
        fold_ids,
        config,
        embedding_model=bank.embedding_model,
        kinds=kinds_of(bank, rows),
        experts=experts,
        groups=bank.groups(rows),
        stop=stop,
    )


def train_semantic(
    bank: FeatureBank, rows: IntArray, *, seed: int = 0, stop: StopCheck | None = None
) -> tuple[SemanticRouter, Selection]:
    """Choose the setting and the experts on grouped folds of `rows`, then fit on all of them."""
    config, selection = select_setting(bank, rows, seed=seed, stop=stop)
    experts, selection.experts = select_experts(bank, rows, config, seed=seed, stop=stop)
    return fit_rows(bank, rows, config, experts=experts, seed=seed, stop=stop), selection


def verdicts(bank: FeatureBank, router: SemanticRouter, rows: IntArray) -> list[RouterVerdict]:
    """The router's verdicts on bank rows (features from the bank, not recomputed)."""
    return router.assess_arrays(
        bank.emb_rows(rows) if router.uses_embeddings else None,
        bank.ana_rows(rows, router.read_names),
    )


def semantic_scorer(
    bank: FeatureBank, *, seed: int = 0, chosen: list[Selection] | None = None
) -> Scorer:
    """A grouped-evaluation scorer: nested selection, fit, calibrated scores of the test items.

    Each fold's `Selection` is appended to `chosen` when given.
    """

    def score(train: Sequence[RoutingItem], test: Sequence[RoutingItem]) -> list[float]:
        router, selection = train_semantic(bank, bank.index(train), seed=seed)
        if chosen is not None:
            chosen.append(selection)
        return [v.score for v in verdicts(bank, router, bank.index(test))]

    return score


def unknown_share(found: Sequence[RouterVerdict]) -> float:
    """Share of verdicts that said "unknown" (far from the training data)."""
    return float(np.mean([not v.known for v in found])) if found else 0.0


def expert_shares(found: Sequence[RouterVerdict]) -> dict[str, float]:
    """Share of verdicts scored by each kind's expert."""
    kinds = sorted({v.expert for v in found if v.expert is not None})
    return {k: float(np.mean([v.expert == k for v in found])) for k in kinds}
