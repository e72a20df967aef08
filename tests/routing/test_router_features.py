"""The routers read one explicit list of analysis features, and a stored router reads its own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_features import build_bank
from orchestratex.bench.routing_semantic import fit_rows, train_semantic
from orchestratex.engine.router import LearnedRouter
from orchestratex.engine.router_features import (
    NUMBER_FEATURES,
    ROUTER_FEATURES,
    SEMANTIC_FEATURES,
    analysis_features,
    analysis_matrix,
)
from orchestratex.engine.semantic_model import RouterConfig
from orchestratex.engine.semantic_router import SemanticRouter
from orchestratex.engine.semantic_train import assign_folds, fit_semantic
from tests.routing.helpers import synthetic

JUDGED = "Should we ban cars from the city centre? Give the case for and against."
PLAIN = "Describe how cars move through a city centre in the morning rush."
LONG_JUDGED = "Should I learn to cook? " + "I live alone and eat out a great deal. " * 6
CODE_JUDGED = "Should I rewrite `main.py` in Rust?\n```python\nprint('hi')\n```"


def test_the_list_is_analysis_features_and_leaves_out_the_everyday_cue_counts() -> None:
    computed = set(analysis_features("anything"))
    assert set(ROUTER_FEATURES) <= computed
    assert len(set(ROUTER_FEATURES)) == len(ROUTER_FEATURES) == 52
    left_out = {"f:code_strong", "f:creative_strong", "f:math_strong", "f:analysis_strong"}
    assert not (left_out | {"f:judgment_questions"}) & set(ROUTER_FEATURES)
    names, raw = analysis_matrix([JUDGED, PLAIN])
    assert names == list(ROUTER_FEATURES) and raw.shape == (2, 52)


def test_fitted_routers_store_the_list_and_read_it_back() -> None:
    prompts, targets = synthetic(80)
    hashed = LearnedRouter().fit(prompts, targets, seed=0)
    again = LearnedRouter.from_dict(json.loads(json.dumps(hashed.to_dict())))
    assert hashed.dense_names == again.dense_names == ROUTER_FEATURES
    assert again.strong_scores(prompts) == hashed.strong_scores(prompts)

    items = [
        RoutingItem("mmlu", p, 1.0, 1.0 - t, f"s{i % 6}")
        for i, (p, t) in enumerate(zip(prompts, targets, strict=True))
    ]
    bank = build_bank(items, None, None)
    semantic, _ = train_semantic(bank, bank.index(items))
    loaded = SemanticRouter.from_dict(json.loads(json.dumps(semantic.to_dict())), None)
    assert semantic.names == loaded.names == SEMANTIC_FEATURES
    assert loaded.strong_scores(prompts) == semantic.strong_scores(prompts)


def _stored_router(names: tuple[str, ...]) -> SemanticRouter:
    """A router fitted on `names` only, saved to JSON and loaded again."""
    prompts = [JUDGED.replace("cars", f"cars {i}") for i in range(20)]
    prompts += [PLAIN.replace("cars", f"cars {i}") for i in range(20)]
    need = np.asarray([1.0] * 20 + [0.0] * 20)
    cols, raw = analysis_matrix(prompts, names)
    folds = assign_folds([""] * len(prompts), prompts, 4, 0)
    config = RouterConfig("ridge", alpha=0.1, embeddings=False)
    router = fit_semantic(None, raw, cols, need, need, folds, config, embedding_model=None)
    return SemanticRouter.from_dict(json.loads(json.dumps(router.to_dict())), None)


def test_a_stored_router_reads_exactly_its_own_list() -> None:
    """A router stored with one feature reads that feature, even one today's list leaves out,
    and nothing else: prompts that differ in every other feature get the same score."""
    router = _stored_router(("f:judgment_questions",))
    assert router.names == ("f:judgment_questions",)
    judged, plain, long_judged, code_judged = router.strong_scores(
        [JUDGED, PLAIN, LONG_JUDGED, CODE_JUDGED]
    )
    assert judged > 0.8 > 0.2 > plain
    assert long_judged == pytest.approx(judged, abs=1e-12)
    assert code_judged == pytest.approx(judged, abs=1e-12)
    other = analysis_matrix([JUDGED, LONG_JUDGED, CODE_JUDGED])[1]
    assert np.ptp(other, axis=0).max() > 1.0  # the unread features do differ


def test_a_stored_name_analysis_does_not_compute_is_refused_on_load() -> None:
    data = _stored_router(("f:judgment_questions",)).to_dict()
    data["names"] = ["f:no_such_feature"]
    with pytest.raises(ValueError, match="no_such_feature"):
        SemanticRouter.from_dict(data, None)
    hashed = LearnedRouter().fit(*synthetic(20), seed=0).to_dict()
    hashed["dense_names"] = ["f:no_such_feature", *hashed["dense_names"][1:]]
    with pytest.raises(ValueError, match="no_such_feature"):
        LearnedRouter.from_dict(hashed)


def _two_kinds() -> list[RoutingItem]:
    items = []
    for i in range(60):
        hard = i % 2 == 0
        q = f"Question {i}: which of these is a mammal? A. cat B. trout" if hard else f"Say hi {i}."
        items.append(RoutingItem("mmlu", q, 1.0, 0.0 if hard else 1.0, f"s{i % 6}"))
        steps = " ".join(f"Then she buys {i + k} more at ${k}.50 each." for k in range(4))
        word = f"Ann has {i} apples. {steps if hard else ''} How many apples are left?"
        items.append(RoutingItem("gsm8k", word, 1.0, 0.0 if hard else 1.0))
    return items


def test_an_expert_may_read_the_number_counts_the_pooled_model_never_does() -> None:
    items = _two_kinds()
    bank = build_bank(items, None, None)
    assert bank.names == [*SEMANTIC_FEATURES, *NUMBER_FEATURES]
    pooled = RouterConfig("ridge", alpha=1.0, embeddings=False)
    expert = RouterConfig("ridge", alpha=1.0, embeddings=False, numbers=True)
    router = fit_rows(bank, bank.index(items), pooled, experts={"gsm8k": expert})
    assert router.names == SEMANTIC_FEATURES
    assert router.experts["gsm8k"].names == SEMANTIC_FEATURES + NUMBER_FEATURES
    assert router.read_names == SEMANTIC_FEATURES + NUMBER_FEATURES
    data = json.loads(json.dumps(router.to_dict()))
    loaded = SemanticRouter.from_dict(data, None)
    assert loaded.experts["gsm8k"].names == router.experts["gsm8k"].names
    assert loaded.experts["gsm8k"].model.config.numbers and not loaded.config.numbers
    prompts = [it.prompt for it in items]
    assert loaded.strong_scores(prompts) == router.strong_scores(prompts)
    found = loaded.assess_many(prompts)
    assert {v.expert for v, it in zip(found, items, strict=True) if it.benchmark == "gsm8k"} == {
        "gsm8k"
    }
    hard = [v.score for v, it in zip(found, items, strict=True) if it.weak == 0.0]
    easy = [v.score for v, it in zip(found, items, strict=True) if it.weak == 1.0]
    assert np.mean(hard) > np.mean(easy)
