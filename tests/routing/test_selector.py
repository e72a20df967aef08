from __future__ import annotations

import pytest

from orchestratex.core.orchestration import Preferences
from orchestratex.engine.router import LearnedRouter
from orchestratex.engine.selection import Selector
from tests.engine_selection.catalog import MODELS, PRICES, analysis
from tests.routing.helpers import synthetic

PAIR = ("gpt-4o", "mistral-small")
HARD = "the proof of it is on the table"
EASY = "hello to the table of it"


@pytest.fixture(scope="module")
def router() -> LearnedRouter:
    prompts, targets = synthetic(200)
    return LearnedRouter().fit(prompts, targets)


def make(router: LearnedRouter, threshold: float = 0.5) -> Selector:
    return Selector(MODELS, PRICES, router=router, router_models=PAIR, router_threshold=threshold)


def test_router_decides_between_its_pair(router: LearnedRouter) -> None:
    selector = make(router)
    hard = selector.select(analysis(), Preferences(), prompt=HARD)
    easy = selector.select(analysis(), Preferences(), prompt=EASY)
    assert (hard.model, hard.strategy) == ("gpt-4o", "learned")
    assert (easy.model, easy.strategy) == ("mistral-small", "learned")
    score = router.strong_score(HARD)
    assert f"router strong score {score:.3f} >= threshold 0.50" in hard.reasons[1]
    assert "< threshold 0.50" in easy.reasons[1]
    assert len(hard.candidates) == len(MODELS)


def test_threshold_trades_quality_for_cost(router: LearnedRouter) -> None:
    assert make(router, 0.0).select(analysis(), Preferences(), prompt=EASY).model == "gpt-4o"
    assert make(router, 1.0).select(analysis(), Preferences(), prompt=HARD).model == (
        "mistral-small"
    )


def test_without_prompt_or_eligible_pair_the_weighted_ranking_decides(
    router: LearnedRouter,
) -> None:
    selector = make(router)
    plain = Selector(MODELS, PRICES)
    no_prompt = selector.select(analysis(), Preferences())
    assert no_prompt.strategy == "weighted"
    assert no_prompt.model == plain.select(analysis(), Preferences()).model
    prefs = Preferences(allowed_models=["gpt-4o", "claude-haiku"])
    pair_broken = selector.select(analysis(), prefs, prompt=EASY)
    assert pair_broken.strategy == "weighted"
    assert pair_broken.model in {"gpt-4o", "claude-haiku"}


def test_router_configuration_is_checked(router: LearnedRouter) -> None:
    with pytest.raises(ValueError):
        Selector(MODELS, PRICES, router=router)
    with pytest.raises(ValueError):
        Selector(MODELS, PRICES, router=router, router_models=("gpt-4o", "nope"))
    with pytest.raises(ValueError):
        Selector(MODELS, PRICES, router=router, router_models=("gpt-4o", "gpt-4o"))
    with pytest.raises(ValueError):
        Selector(MODELS, PRICES, router=router, router_models=PAIR, router_threshold=1.5)
