"""Vocabulary rarity: wordfreq's Zipf figures per prompt part, read by the semantic router."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_features import build_bank
from orchestratex.engine.embeddings import FloatArray
from orchestratex.engine.rarity_features import (
    RARITY_FEATURES,
    rarity_features,
    split_options,
    words_of,
    zipf_table,
)
from orchestratex.engine.router_features import (
    NUMBER_FEATURES,
    ROUTER_FEATURES,
    SEMANTIC_FEATURES,
    analysis_matrix,
    check_names,
)
from orchestratex.engine.semantic_model import RouterConfig
from orchestratex.engine.semantic_router import SemanticRouter
from orchestratex.engine.semantic_train import assign_folds, fit_semantic

COMMON = "What is the name of the big house that the man and his dog live in?"
RARE = "Which anaphylactic idiosyncrasy obfuscates the perspicacious antidisestablishmentarian?"
CHOICE = (
    "Which of these is the best answer to the question?\n"
    "A. sesquipedalian\nB. floccinaucinihilipilification\nC. pusillanimous\nD. obsequious\nAnswer:"
)


def test_rare_words_score_lower_on_zipfs_scale_than_common_ones() -> None:
    common, rare = rarity_features(COMMON), rarity_features(RARE)
    assert set(common) == set(RARITY_FEATURES) and len(RARITY_FEATURES) == 18
    assert common["r:stem_mean"] > 5.0 > 3.5 > rare["r:stem_mean"]
    assert common["r:stem_q10"] > rare["r:stem_q50"]
    assert common["r:stem_lt4"] == 0.0 < 0.5 < rare["r:stem_lt4"]
    assert rare["r:stem_longest"] == len("antidisestablishmentarian")
    table = zipf_table()
    zipf = [table.get(w, 0.0) for w in words_of(RARE)]
    assert rare["r:stem_mean"] == pytest.approx(np.mean(zipf), abs=1e-12)
    for q in (10, 25, 50):
        assert rare[f"r:stem_q{q}"] == pytest.approx(np.quantile(zipf, q / 100), abs=1e-12)
    assert rare["r:stem_unknown"] == pytest.approx(np.mean([z == 0.0 for z in zipf]))


def test_a_choice_prompt_is_measured_as_stem_and_options_the_letters_left_out() -> None:
    stem, options = split_options(CHOICE)
    assert stem.endswith("question?\n") and "Answer" not in options
    assert words_of(options) == [
        "sesquipedalian",
        "floccinaucinihilipilification",
        "pusillanimous",
        "obsequious",
    ]
    found = rarity_features(CHOICE)
    assert found["r:stem_mean"] > 5.0 > 3.0 > found["r:opt_mean"]
    assert found["r:opt_longest"] == len("floccinaucinihilipilification")
    assert found["r:stem_lt4"] == 0.0 and found["r:opt_lt4"] == 1.0


def test_a_part_without_words_reads_the_others_figures_never_nan() -> None:
    plain = rarity_features(COMMON)
    for stat in ("mean", "q50", "lt4", "longest"):
        assert plain[f"r:opt_{stat}"] == plain[f"r:stem_{stat}"]
    numeric = rarity_features("Compute 12 * 7.\nA. 84\nB. 74\nC. 94\nD. 48\nAnswer:")
    alone = rarity_features("Compute")["r:stem_mean"]
    assert numeric["r:opt_mean"] == numeric["r:stem_mean"] == alone
    empty = rarity_features("1234 + 5678 = ?")
    assert all(np.isfinite(v) for v in empty.values())
    assert empty["r:stem_mean"] == empty["r:opt_mean"] == 5.0


def test_the_rarity_columns_are_not_log_scaled_and_the_others_are() -> None:
    names, raw = analysis_matrix([RARE], ("f:words", "r:stem_mean", "r:stem_longest"))
    assert names == ["f:words", "r:stem_mean", "r:stem_longest"]
    features = rarity_features(RARE)
    assert raw[0, 1] == features["r:stem_mean"] and raw[0, 2] == 25.0
    assert raw[0, 0] == pytest.approx(np.log1p(len(RARE.split())))


def _stored(names: tuple[str, ...], prompts: list[str], need: list[float]) -> SemanticRouter:
    cols, raw = analysis_matrix(prompts, names)
    target = np.asarray(need)
    folds = assign_folds([""] * len(prompts), prompts, 4, 0)
    config = RouterConfig("ridge", alpha=0.1, embeddings=False)
    router = fit_semantic(None, raw, cols, target, target, folds, config, embedding_model=None)
    return SemanticRouter.from_dict(json.loads(json.dumps(router.to_dict())), None)


def test_a_router_on_the_rarity_figures_sends_rare_vocabulary_to_the_strong_model() -> None:
    prompts = [f"{RARE} ({i})" for i in range(20)] + [f"{COMMON} ({i})" for i in range(20)]
    router = _stored(("r:stem_mean", "r:stem_lt4"), prompts, [1.0] * 20 + [0.0] * 20)
    assert router.read_names == ("r:stem_mean", "r:stem_lt4")
    rare, common = router.strong_scores(
        ["Perspicacious anaphylaxis obfuscated.", "The man and his dog."]
    )
    assert rare > 0.8 > 0.2 > common


def test_a_router_stored_before_the_rarity_figures_still_loads_and_reads_none() -> None:
    prompts = [f"{COMMON} Why? ({i})" for i in range(20)] + [f"{COMMON} ({i})" for i in range(20)]
    router = _stored(ROUTER_FEATURES, prompts, [1.0] * 20 + [0.0] * 20)
    assert not set(router.read_names) & set(RARITY_FEATURES)
    assert set(SEMANTIC_FEATURES) - set(router.read_names) == set(RARITY_FEATURES)
    # Two prompts that differ only in how rare their words are: the old router cannot tell.
    same = router.strong_scores(["The cat sat on a mat.", "The ocelot sat on a tatami."])
    assert same[0] == pytest.approx(same[1], abs=1e-12)


class _LengthEmbedder:
    """A two-number embedding (length, 1), unit length: enough to build a bank with embeddings."""

    name = "test-length-2"
    dim = 2

    def embed(self, texts: Sequence[str]) -> FloatArray:
        rows = np.asarray([[len(t), 1.0] for t in texts], dtype=np.float64)
        out: FloatArray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return out


def test_the_bank_holds_the_rarity_figures_with_embeddings_and_without(tmp_path: Path) -> None:
    items = [RoutingItem("mmlu", COMMON, 1.0, 0.0, "s"), RoutingItem("mmlu", RARE, 1.0, 1.0, "s")]
    plain = build_bank(items, None, None)
    assert plain.names == [*SEMANTIC_FEATURES, *NUMBER_FEATURES]
    column = plain.names.index("r:stem_mean")
    assert plain.ana[0, column] > 5.0 > 3.5 > plain.ana[1, column]
    embedded = build_bank(items, _LengthEmbedder(), tmp_path)
    assert embedded.names == plain.names
    np.testing.assert_array_equal(embedded.ana, plain.ana)
    assert embedded.emb is not None and embedded.emb.shape == (2, 2)


def test_a_router_on_embeddings_stored_before_the_rarity_figures_reads_none_back() -> None:
    """Since the router on embeddings reads them too, an older one stored with the extra keeps
    its own names: the same features, the same scores after loading (the real router with the
    extra saved by main at c59ea09 gave 300 prompts the same scores: docs/benchmarks.md)."""
    embedder = _LengthEmbedder()
    prompts = [f"{COMMON} Why? ({i})" for i in range(20)]
    prompts += [f"{COMMON} ({'x' * i})" for i in range(20)]
    cols, raw = analysis_matrix(prompts, ROUTER_FEATURES)
    target = np.asarray([1.0] * 20 + [0.0] * 20)
    folds = assign_folds([""] * len(prompts), prompts, 4, 0)
    config = RouterConfig("ridge", alpha=0.1, embeddings=True)
    emb = embedder.embed(prompts)
    fitted = fit_semantic(
        emb, raw, cols, target, target, folds, config, embedding_model="test-length-2"
    )
    fitted.embedder = embedder
    loaded = SemanticRouter.from_dict(json.loads(json.dumps(fitted.to_dict())), embedder)
    assert loaded.uses_embeddings and loaded.read_names == ROUTER_FEATURES
    # Stored neighbours are float16, so a prompt at the unknown threshold may fall either side;
    # compare the prompts both call known.
    probe = [prompts[0], prompts[7], prompts[25], prompts[39], RARE, CHOICE]
    pairs = [
        (a.score, b.score)
        for a, b in zip(loaded.assess_many(probe), fitted.assess_many(probe), strict=True)
        if a.known and b.known
    ]
    assert len(pairs) >= 4
    both = np.asarray(pairs)
    np.testing.assert_allclose(both[:, 0], both[:, 1], atol=1e-12)


def test_loading_a_model_that_reads_rarity_figures_loads_the_word_table_then() -> None:
    zipf_table.cache_clear()
    check_names(ROUTER_FEATURES)
    assert zipf_table.cache_info().currsize == 0  # a model without them never loads it
    check_names(SEMANTIC_FEATURES)
    assert zipf_table.cache_info().currsize == 1
    assert len(zipf_table()) > 300_000 and zipf_table()["the"] > 7.5
