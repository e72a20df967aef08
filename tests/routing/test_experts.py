"""Per-kind experts: chosen on inner folds only when they beat the pooled model, gated, saved."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from orchestratex.bench.router_io import load
from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_experts import MIN_EXPERT_ROWS, select_experts
from orchestratex.bench.routing_features import FeatureBank, build_bank
from orchestratex.bench.routing_fold import FoldWork, inner_folds
from orchestratex.bench.routing_metrics import evaluate_scores
from orchestratex.bench.routing_semantic import train_semantic, verdicts
from orchestratex.core.orchestration import Preferences
from orchestratex.engine.router_features import NUMBER_FEATURES, ROUTER_FEATURES
from orchestratex.engine.selection import Selector
from orchestratex.engine.semantic_kinds import fit_gate
from orchestratex.engine.semantic_model import RouterConfig, fit_model, raw_scores
from orchestratex.engine.semantic_router import OLD_FORMATS, SemanticRouter
from orchestratex.engine.semantic_train import standardisation
from tests.engine_selection.catalog import MODELS, PRICES, analysis

_FILLER = [
    "please",
    "answer",
    "this",
    "carefully",
    "and",
    "completely",
    "and",
    "show",
    "the",
    "reasoning",
]


def _filler(rng: random.Random, long: bool) -> str:
    return " ".join(rng.choices(_FILLER, k=40 if long else 2))


def _items() -> list[RoutingItem]:
    """Two kinds that disagree: a long multiple-choice question needs the strong model, but a
    long word problem does not (its short ones do). Pooled, the larger kind wins."""
    rng = random.Random(3)
    out: list[RoutingItem] = []
    for i in range(360):
        long = i % 2 == 0
        prompt = (
            f"Which of the following is true of item {i}? {_filler(rng, long)}\n"
            "A. one\nB. two\nC. three\nD. four\nAnswer:"
        )
        out.append(RoutingItem("mmlu", prompt, 1.0, 0.0 if long else 1.0, f"subject{(i // 2) % 6}"))
    for i in range(MIN_EXPERT_ROWS + 40):
        long = i % 2 == 0
        prompt = (
            f"Tom has {i + 3} apples and buys {2 * i + 5} more at $3 each. {_filler(rng, long)} "
            "How many apples does he have?"
        )
        out.append(RoutingItem("gsm8k", prompt, 1.0, 1.0 if long else 0.0))
    for i in range(20):
        out.append(RoutingItem("mt_bench", f"Write a short poem about the sea, number {i}.", 9, 8))
    return out


@pytest.fixture(scope="module")
def bank() -> FeatureBank:
    """The bank without the rarity figures: in these prompts the filler's common words tell the
    kinds' long prompts apart, so with them the pooled model need not route a kind backwards."""
    full = build_bank(_items(), None, None)
    names = [*ROUTER_FEATURES, *NUMBER_FEATURES]
    return replace(full, ana=full.ana_rows(np.arange(len(full.items)), names), names=names)


def _apgr(bank: FeatureBank, rows: np.ndarray, scores: list[float]) -> float:
    strong = [bank.items[r].strong for r in rows]
    weak = [bank.items[r].weak for r in rows]
    return evaluate_scores(scores, strong, weak).apgr


def test_a_kind_the_pooled_model_ranks_backwards_gets_its_own_model(bank: FeatureBank) -> None:
    rows = np.arange(len(bank.items))
    pooled = RouterConfig("ridge", alpha=1.0, embeddings=False)
    chosen, evidence = select_experts(bank, rows, pooled)
    by_kind = {e.kind: e for e in evidence}
    assert "gsm8k" in chosen and by_kind["gsm8k"].used
    gsm8k = by_kind["gsm8k"]
    assert gsm8k.best is not None and gsm8k.pooled_apgr is not None
    assert gsm8k.pooled_apgr < 0.5 < gsm8k.best.mean_apgr  # pooled, it was routed backwards
    assert by_kind["mt_bench"].best is None and by_kind["mt_bench"].train_prompts == 20
    assert "mt_bench" not in chosen  # too few rows to choose on


def test_the_router_sends_each_kind_to_its_expert_and_round_trips(bank: FeatureBank) -> None:
    rows = np.arange(len(bank.items))
    router, selection = train_semantic(bank, rows)
    assert "gsm8k" in {e.kind for e in selection.experts if e.used}
    found = verdicts(bank, router, rows)
    kinds = [it.benchmark for it in bank.items]
    assert all(v.expert in (k, None) for v, k in zip(found, kinds, strict=True))
    gsm8k = np.flatnonzero(np.asarray(kinds) == "gsm8k")
    assert all(found[r].expert == "gsm8k" for r in gsm8k)
    perfect = _apgr(bank, gsm8k, [bank.items[r].target for r in gsm8k])
    assert _apgr(bank, gsm8k, [found[r].score for r in gsm8k]) == pytest.approx(perfect)
    data = json.loads(json.dumps(router.to_dict()))
    again = SemanticRouter.from_dict(data, None)
    prompts = [bank.items[r].prompt for r in (0, 1, int(gsm8k[0]), int(gsm8k[1]))]
    assert again.strong_scores(prompts) == pytest.approx(router.strong_scores(prompts))
    assert again.assess(prompts[2]).expert == "gsm8k"


def test_the_selection_reasons_name_the_part_of_the_router_that_scored(
    bank: FeatureBank,
) -> None:
    router, _ = train_semantic(bank, np.arange(len(bank.items)))
    selector = Selector(MODELS, PRICES, router=router, router_models=("gpt-4o", "mistral-small"))
    kinds = [it.benchmark for it in bank.items]
    word_problem = bank.items[kinds.index("gsm8k")].prompt
    poem = bank.items[kinds.index("mt_bench")].prompt  # too few rows for an expert of its own
    by_expert = selector.select(analysis(), Preferences(), prompt=word_problem)
    by_pooled = selector.select(analysis(), Preferences(), prompt=poem)
    assert any("scored by the gsm8k expert" in r for r in by_expert.reasons), by_expert.reasons
    assert any("scored by the pooled model" in r for r in by_pooled.reasons), by_pooled.reasons


def test_a_router_saved_before_experts_still_loads(bank: FeatureBank, tmp_path: Path) -> None:
    rows = np.arange(len(bank.items))
    router, _ = train_semantic(bank, rows)
    data = router.to_dict()
    for key in ("gate", "experts"):
        del data[key]
    data["format"] = OLD_FORMATS[0]
    old = SemanticRouter.from_dict(data, None)
    assert not old.experts and old.assess(bank.items[0].prompt).expert is None
    path = tmp_path / "old-router.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load(path)
    assert isinstance(loaded, SemanticRouter) and not loaded.experts


def test_the_gate_weighs_a_small_kind_as_much_as_a_large_one() -> None:
    rng = np.random.default_rng(0)
    centres = {"big": np.array([2.0, 0.0]), "small": np.array([-2.0, 0.0])}
    kinds = ["big"] * 500 + ["small"] * 10
    ana = np.vstack([centres[k] + rng.normal(0, 0.7, 2) for k in kinds])
    gate = fit_gate(None, ana, kinds)
    got = gate.classify(None, np.array([[-2.0, 0.0], [2.0, 0.0], [-0.5, 0.0]]))
    assert [gate.kinds[i] for i in got] == ["small", "big", "small"]
    with pytest.raises(ValueError):
        fit_gate(None, ana, ["big"] * len(kinds))


def test_shared_fold_work_scores_like_a_fresh_fit() -> None:
    rng = np.random.default_rng(1)
    items = [
        RoutingItem("mmlu", f"prompt {i}", float(rng.integers(0, 2)), 0.0, f"s{i % 5}")
        for i in range(200)
    ]
    emb = rng.normal(size=(200, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ana = rng.normal(size=(200, 3))
    bank = FeatureBank(
        items=items,
        emb=emb,
        ana=ana,
        names=["a", "b", "c"],
        embedding_model="test",
        need=np.asarray([it.target for it in items]),
    )
    rows = np.arange(200)
    test = inner_folds(bank, rows, 4, 0)[0]
    assert {items[r].group for r in test}.isdisjoint(
        {items[r].group for r in np.setdiff1d(rows, test)}
    )
    train = np.setdiff1d(rows, test)
    work = FoldWork(bank, train, test)
    mean, std = standardisation(ana[train])
    for config in (
        RouterConfig("ridge", alpha=3.0),
        RouterConfig("ridge", alpha=0.3, embeddings=False),
        RouterConfig("knn", k=7),
        RouterConfig("blend", alpha=10.0, k=20),
        RouterConfig("ridge", alpha=3.0, within=0.5, within_alpha=1.0),
        RouterConfig("ridge", alpha=0.3, embeddings=False, within=1.0, within_alpha=10.0),
    ):
        model = fit_model(
            emb[train], (ana[train] - mean) / std, bank.need[train], config, bank.groups(train)
        )
        fresh = raw_scores(model, emb[test], (ana[test] - mean) / std)
        assert work.scores(config) == pytest.approx(fresh), config.label
