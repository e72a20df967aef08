from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestratex.bench.router_io import load, save
from orchestratex.engine.router import FORMAT, LearnedRouter, hashed_features
from tests.routing.helpers import synthetic


@pytest.fixture(scope="module")
def trained() -> LearnedRouter:
    prompts, targets = synthetic(200)
    return LearnedRouter().fit(prompts, targets, seed=0)


def test_fit_separates_separable_data(trained: LearnedRouter) -> None:
    prompts, targets = synthetic(60, seed=7)
    scores = trained.strong_scores(prompts)
    hard = [s for s, t in zip(scores, targets, strict=True) if t == 1.0]
    easy = [s for s, t in zip(scores, targets, strict=True) if t == 0.0]
    assert min(hard) > 0.8 > 0.2 > max(easy)


def test_route_follows_the_threshold(trained: LearnedRouter) -> None:
    hard = "the proof of it is on the table"
    easy = "hello to the table of it"
    assert trained.route(hard, 0.5) == "strong"
    assert trained.route(easy, 0.5) == "weak"
    assert trained.route(easy, 0.0) == "strong"
    assert trained.route(hard, 1.0 + 1e-9) == "weak"
    assert trained.strong_score(hard) == trained.strong_scores([hard])[0]


def test_fit_is_deterministic() -> None:
    prompts, targets = synthetic(80)
    a = LearnedRouter().fit(prompts, targets, seed=5).to_dict()
    b = LearnedRouter().fit(prompts, targets, seed=5).to_dict()
    assert a == b


def test_dict_round_trip_through_json_keeps_scores(trained: LearnedRouter) -> None:
    data = json.loads(json.dumps(trained.to_dict()))
    assert data["format"] == FORMAT
    again = LearnedRouter.from_dict(data)
    prompts, _ = synthetic(20, seed=9)
    assert again.strong_scores(prompts) == pytest.approx(trained.strong_scores(prompts), abs=1e-12)


def test_file_round_trip(trained: LearnedRouter, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "router.json"
    save(trained, path)
    again = load(path)
    prompt = "a proof of the claim"
    assert again.strong_score(prompt) == pytest.approx(trained.strong_score(prompt), abs=1e-12)


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LearnedRouter.from_dict({"format": "something else"})
    with pytest.raises(ValueError):
        LearnedRouter().fit(["one", "two"], [1.0])
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError):
        load(path)


def test_untrained_router_is_neutral() -> None:
    assert LearnedRouter().strong_score("anything at all") == 0.5


def test_hashed_features_are_stable_and_unit_norm() -> None:
    idx, val = hashed_features("Solve x + 1 = 2, then explain.")
    idx2, val2 = hashed_features("Solve x + 1 = 2, then explain.")
    assert idx.tolist() == idx2.tolist() and val.tolist() == val2.tolist()
    assert float((val * val).sum()) == pytest.approx(1.0)
    assert hashed_features("")[0].size == 0
