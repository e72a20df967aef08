"""The within-subject part: learns only how a prompt differs from its group, chosen on inner
folds like the rest of the setting, stored with the router, older routers still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_features import FeatureBank
from orchestratex.bench.routing_fold import FoldWork
from orchestratex.bench.routing_select import (
    ANALYSIS_GRID,
    BASE_ANALYSIS_GRID,
    EMBEDDING_GRID,
    neighbours,
    select_setting,
)
from orchestratex.bench.routing_semantic import fit_rows
from orchestratex.engine.router_features import ROUTER_FEATURES
from orchestratex.engine.semantic_model import RouterConfig, fit_model, raw_scores
from orchestratex.engine.semantic_router import FORMAT, OLD_FORMATS, SemanticRouter
from orchestratex.engine.semantic_within import fit_within, group_centred

SUBJECTS = 12
PER_SUBJECT = 60


def _confounded_bank(seed: int = 0) -> FeatureBank:
    """Subjects whose mean of feature `a` runs against their difficulty, while inside each
    subject a larger `a` means the strong model is needed; `b` names the subject's difficulty
    loosely. A pooled ridge mixes the two slopes of `a`; the within part learns the inner one."""
    rng = np.random.default_rng(seed)
    items: list[RoutingItem] = []
    rows = []
    for s in range(SUBJECTS):
        difficulty = rng.normal()
        for _ in range(PER_SUBJECT):
            inner = rng.normal()
            a = -2.0 * difficulty + inner
            b = difficulty + rng.normal(0.0, 1.0)
            need = float(rng.random() < 1.0 / (1.0 + np.exp(-(2.5 * inner + difficulty))))
            items.append(RoutingItem("mmlu", f"s{s} {len(items)}", 1.0, 1.0 - need, f"s{s}"))
            rows.append([a, b, rng.normal()])
    return FeatureBank(
        items=items,
        emb=None,
        ana=np.asarray(rows),
        names=list(ROUTER_FEATURES[:3]),  # real names, so that a stored router loads
        embedding_model=None,
        need=np.asarray([it.target for it in items]),
    )


def test_a_constant_added_to_one_subject_leaves_the_within_weights_unchanged() -> None:
    bank = _confounded_bank()
    groups = bank.groups(np.arange(len(bank.items)))
    beta = fit_within(bank.ana, bank.need, groups, 1.0)
    shifted = bank.need + 0.7 * (np.asarray(groups) == "s3")
    assert fit_within(bank.ana, shifted, groups, 1.0) == pytest.approx(beta, abs=1e-12)
    # the pooled ridge does move: it learns subject-level offsets, the within part cannot
    pooled = RouterConfig("ridge", alpha=1.0, embeddings=False)
    before = fit_model(None, bank.ana, bank.need, pooled).weight
    after = fit_model(None, bank.ana, shifted, pooled).weight
    assert np.abs(after - before).max() > 1e-3
    assert beta[0] > 0.1 > abs(beta[2])  # the inner slope of `a`, not its pooled one


def test_group_centring_removes_each_group_mean() -> None:
    values = np.array([[1.0, 2.0], [3.0, 6.0], [10.0, 0.0]])
    out = group_centred(values, ["x", "x", "y"])
    assert out == pytest.approx(np.array([[-1.0, -2.0], [1.0, 2.0], [0.0, 0.0]]))
    assert group_centred(np.array([1.0, 3.0]), ["x", "x"]) == pytest.approx([-1.0, 1.0])
    with pytest.raises(ValueError):
        group_centred(values, ["x"])


def test_the_within_part_is_added_scaled_to_the_ridge_spread() -> None:
    bank = _confounded_bank()
    rows = np.arange(len(bank.items))
    groups = bank.groups(rows)
    config = RouterConfig("ridge", alpha=1.0, embeddings=False, within=0.5, within_alpha=1.0)
    model = fit_model(None, bank.ana, bank.need, config, groups)
    base = fit_model(None, bank.ana, bank.need, config.base())
    assert model.weight == pytest.approx(base.weight) and model.within is not None
    part = bank.ana @ model.within
    assert part.std() == pytest.approx(0.5 * (bank.ana @ base.weight).std())
    scores = raw_scores(model, None, bank.ana)
    assert scores == pytest.approx(raw_scores(base, None, bank.ana) + part)
    with pytest.raises(ValueError):
        fit_model(None, bank.ana, bank.need, config)  # no groups
    with pytest.raises(ValueError):
        fit_model(bank.ana, bank.ana, bank.need, RouterConfig("knn", within=1.0), groups)


def test_inner_folds_choose_the_within_part_when_it_ranks_held_out_subjects_better() -> None:
    bank = _confounded_bank()
    rows = np.arange(len(bank.items))
    train, test = rows[: 8 * PER_SUBJECT], rows[8 * PER_SUBJECT :]
    work = FoldWork(bank, train, test)
    base = RouterConfig("ridge", alpha=1.0, embeddings=False)
    with_part = RouterConfig("ridge", alpha=1.0, embeddings=False, within=1.0, within_alpha=1.0)
    assert not np.allclose(work.scores(base), work.scores(with_part))
    grid = [base, with_part]
    chosen, selection = select_setting(bank, rows, grid=grid)
    assert chosen == with_part, selection.candidates
    assert selection.candidates[1].mean_apgr > selection.candidates[0].mean_apgr


def test_the_grids_offer_the_part_to_ridges_only_and_neighbours_keep_it() -> None:
    assert len(ANALYSIS_GRID) == 7 * len(BASE_ANALYSIS_GRID)
    assert ANALYSIS_GRID[: len(BASE_ANALYSIS_GRID)] == BASE_ANALYSIS_GRID  # ties keep no part
    assert all(not c.uses_knn() for c in EMBEDDING_GRID if c.within)
    chosen = next(c for c in ANALYSIS_GRID if c.within == 0.5 and c.alpha == 1.0)
    near = neighbours(chosen, ANALYSIS_GRID)
    assert {c.alpha for c in near} == {0.3, 3.0}
    assert all((c.within, c.within_alpha) == (0.5, chosen.within_alpha) for c in near)


def test_a_router_with_the_part_round_trips_and_an_older_one_still_loads() -> None:
    bank = _confounded_bank()
    rows = np.arange(len(bank.items))
    config = RouterConfig("ridge", alpha=1.0, embeddings=False, within=1.0, within_alpha=1.0)
    router = fit_rows(bank, rows, config)
    data = json.loads(json.dumps(router.to_dict()))
    assert data["format"] == FORMAT and data["config"]["within"] == 1.0
    again = SemanticRouter.from_dict(data, None)
    assert again.config == config and again.model.within is not None
    ana = bank.ana_rows(rows, router.read_names)
    first = [v.score for v in router.assess_arrays(None, ana)]
    assert [v.score for v in again.assess_arrays(None, ana)] == pytest.approx(first)
    # a router stored before the part existed: no within keys, format /3
    for key in ("within", "within_alpha"):
        del data["config"][key]
    del data["within"]
    data["format"] = OLD_FORMATS[0]
    old = SemanticRouter.from_dict(data, None)
    assert old.model.within is None and old.config == config.base()
    std = router.standardise(ana)
    assert router.model.within is not None
    assert raw_scores(old.model, None, std) == pytest.approx(
        raw_scores(router.model, None, std) - std @ router.model.within
    )
    data["within"] = [1.0]
    data["format"] = FORMAT
    with pytest.raises(ValueError):
        SemanticRouter.from_dict(data, None)
