"""The semantic router: fitted, calibrated, saved and reloaded, and honest about unknown prompts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from orchestratex.bench.routing_bench import train_on_split
from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_features import build_bank
from orchestratex.bench.routing_select import neighbours, select_setting
from orchestratex.bench.routing_semantic import fit_rows, train_semantic, verdicts
from orchestratex.core.orchestration import Preferences
from orchestratex.engine.embeddings import (
    OFF_ENV,
    FloatArray,
    default_embedder,
    embeddings_available,
)
from orchestratex.engine.selection import Selector
from orchestratex.engine.semantic_model import TIE_BREAK_SLOPE, RouterConfig, platt
from orchestratex.engine.semantic_router import SemanticRouter
from tests.engine_selection.catalog import MODELS, PRICES, analysis
from tests.routing.helpers import DATA_DIR, needs_data
from tests.routing.test_cli import EASY, HARD


def _items(n: int = 120) -> list[RoutingItem]:
    out = []
    for i in range(n):
        hard = i % 2 == 0
        prompt = (HARD if hard else EASY).format(i=i, r=i / n)
        out.append(RoutingItem("mmlu", prompt, 1.0, 0.0 if hard else 1.0, f"s{i % 6}"))
    return out


def test_analysis_only_router_ranks_and_round_trips() -> None:
    items = _items()
    bank = build_bank(items, None, None)
    router, selection = train_semantic(bank, bank.index(items))
    assert not router.uses_embeddings and selection.chosen.startswith("analysis ridge")
    found = verdicts(bank, router, bank.index(items))
    hard = [v.score for v, it in zip(found, items, strict=True) if it.weak == 0.0]
    easy = [v.score for v, it in zip(found, items, strict=True) if it.weak == 1.0]
    assert min(hard) > max(easy)
    assert all(v.known and v.basis == "analysis" and v.nearest is None for v in found)
    again = SemanticRouter.from_dict(json.loads(json.dumps(router.to_dict())), None)
    assert again.strong_score(items[0].prompt) == router.strong_score(items[0].prompt)


class _Topics:
    """A stand-in embedder: a prompt's vector is its topic's axis (used only in this test)."""

    name = "topic-axes"
    dim = 4

    def embed(self, texts: Sequence[str]) -> FloatArray:
        out = np.zeros((len(texts), self.dim))
        for r, text in enumerate(texts):
            out[r, 3 if "zzz" in text else hash(text.split(":")[0]) % 3] = 1.0
        return out


def test_far_prompts_are_called_unknown_and_get_the_prior(tmp_path: Path) -> None:
    items = _items()
    embedder = _Topics()
    bank = build_bank(items, embedder, tmp_path / "cache")
    assert (tmp_path / "cache" / "topic-axes" / "vectors.npy").is_file()
    router = fit_rows(bank, bank.index(items), RouterConfig("knn", k=10))
    router.embedder = embedder
    far = router.assess("zzz something unlike all training prompts")
    assert not far.known and far.score == router.prior and far.nearest is not None
    near = router.assess(items[0].prompt)
    assert near.known and near.basis == "embeddings"


def test_selection_reports_neighbours_of_the_chosen_setting() -> None:
    items = _items()
    bank = build_bank(items, None, None)
    grid = [RouterConfig("ridge", alpha=a, embeddings=False) for a in (0.1, 1.0, 10.0)]
    assert neighbours(grid[1], grid) == [grid[0], grid[2]]
    _, selection = select_setting(bank, bank.index(items), grid=grid)
    assert len(selection.candidates) == 3 and selection.neighbours
    assert selection.neighbour_spread >= 0.0


def test_selection_falls_back_to_the_priors_on_an_unknown_prompt(tmp_path: Path) -> None:
    items = _items()
    embedder = _Topics()
    bank = build_bank(items, embedder, tmp_path / "cache")
    router = fit_rows(bank, bank.index(items), RouterConfig("knn", k=10))
    router.embedder = embedder
    selector = Selector(MODELS, PRICES, router=router, router_models=("gpt-4o", "mistral-small"))
    known = selector.select(analysis(), Preferences(), prompt=items[0].prompt)
    assert known.strategy == "learned" and "router features: embeddings" in known.reasons[1]
    assert "scored by the pooled model" in known.reasons[1], known.reasons
    unknown = selector.select(analysis(), Preferences(), prompt="zzz nothing like training")
    assert unknown.strategy == "weighted"
    assert any("unlike its training prompts" in r for r in unknown.reasons), unknown.reasons
    assert any("unknown fallback" in r for r in unknown.reasons), unknown.reasons


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-z))
    return out


def test_calibration_never_inverts_the_ranking() -> None:
    """Backwards held-out scores: the prior, with the raw order kept as a tie-break."""
    raw = 3.0 + 0.5 * np.linspace(-1.0, 1.0, 201)
    need = (raw < 3.0).astype(float)
    a, b = platt(raw, need)
    p = _sigmoid(a * raw + b)
    assert a > 0.0 and np.all(np.diff(p) > 0.0)  # the raw order kept, not inverted nor tied
    prior = need.mean()
    assert np.abs(p - prior).max() < 0.01  # the prior, within a tie-break's spread
    far = _sigmoid(a * (raw.mean() + 20 * raw.std() * np.array([-1.0, 1.0])) + b)
    assert np.abs(far - prior).max() <= 0.01 + 1e-9
    assert a * raw.std() == pytest.approx(TIE_BREAK_SLOPE)
    flat_a, _ = platt(np.full(50, 2.0), np.linspace(0.0, 1.0, 50))
    assert flat_a > 0.0
    a, _ = platt(raw, (raw > 3.0).astype(float))
    assert a * raw.std() > 100 * TIE_BREAK_SLOPE  # evidence: a real slope


needs_embeddings = pytest.mark.skipif(
    not embeddings_available(), reason="the embeddings extra is not installed"
)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@needs_data
@needs_embeddings
def test_the_real_router_calls_far_prompts_unknown_and_selection_uses_the_priors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The router the service trains (real MiniLM embeddings, real data, real threshold): prompts
    in a language or on a topic the recordings never cover are unknown; a word problem is not."""
    monkeypatch.delenv(OFF_ENV, raising=False)
    embedder = default_embedder()
    assert embedder is not None
    router, _ = train_on_split(DATA_DIR, seed=0, embedder=embedder)
    assert router.ood_threshold is not None
    for far in ("私の猫の名前を考えてください", "Bonjour, comment ça va aujourd'hui ?"):
        verdict = router.assess(far)
        assert not verdict.known and verdict.score == router.prior, (far, verdict)
        assert verdict.nearest is not None and verdict.nearest < router.ood_threshold
    near = router.assess("Ann buys 3 boxes of 12 pencils and gives away 7. How many are left?")
    assert near.known and near.expert == "gsm8k"
    selector = Selector(MODELS, PRICES, router=router, router_models=("gpt-4o", "mistral-small"))
    decision = selector.select(analysis(), Preferences(), prompt="私の猫の名前を考えてください")
    assert decision.strategy == "weighted"
    assert any("unlike its training prompts" in r for r in decision.reasons), decision.reasons
