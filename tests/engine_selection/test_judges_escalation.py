from __future__ import annotations

import pytest

from orchestratex.core.errors import UnknownModelError
from orchestratex.core.orchestration import Preferences
from orchestratex.core.performance import ModelHealth
from orchestratex.core.types import Domain
from orchestratex.engine.selection import Selector
from tests.engine_selection.catalog import EXTRA, EXTRA_PRICES, MODELS, PRICES, analysis

QUALITY_ONLY = Preferences(quality_weight=1.0, cost_weight=0.0, latency_weight=0.0)


@pytest.fixture
def selector() -> Selector:
    return Selector(MODELS + EXTRA, {**PRICES, **EXTRA_PRICES})


def family(selector: Selector, key: str) -> str:
    return next(m.family for m in selector.models if m.key == key)


def test_judges_exclude_the_answerer_and_prefer_other_families(selector: Selector) -> None:
    judges = selector.judges(analysis(), "claude-sonnet", 3, QUALITY_ONLY)
    assert len(judges) == 3
    assert "claude-sonnet" not in judges
    families = [family(selector, j) for j in judges]
    assert "claude" not in families
    assert len(set(families)) == 3
    # the strongest foreign model comes first
    assert judges[0] == "gpt-4o"


def test_judges_fall_back_to_the_same_family_and_may_be_fewer(selector: Selector) -> None:
    prefs = Preferences(allowed_models=["claude-sonnet", "claude-haiku", "gpt-4o"])
    assert selector.judges(analysis(), "claude-sonnet", 5, prefs) == ["gpt-4o", "claude-haiku"]
    only_own = Preferences(allowed_models=["claude-sonnet", "claude-haiku"])
    assert selector.judges(analysis(), "claude-sonnet", 2, only_own) == ["claude-haiku"]
    assert selector.judges(analysis(), "claude-sonnet", 0, prefs) == []


def test_judges_skip_unhealthy_models(selector: Selector) -> None:
    health = {"gpt-4o": ModelHealth(model="gpt-4o", provider="gpt", circuit="open")}
    judges = selector.judges(analysis(), "claude-sonnet", 4, QUALITY_ONLY, health=health)
    assert "gpt-4o" not in judges and len(judges) == 4


def test_escalation_picks_a_clearly_stronger_model(selector: Selector) -> None:
    a = analysis(Domain.CODING, 0.8)
    target = selector.escalation_target("gpt-4o-mini", a, QUALITY_ONLY)
    assert target == "claude-sonnet"
    ranked = {c.model: c for c in selector.rank(a, QUALITY_ONLY)}
    assert ranked["claude-sonnet"].expected_quality >= ranked["gpt-4o-mini"].expected_quality + 0.5
    second = selector.escalation_target("gpt-4o-mini", a, QUALITY_ONLY, tried=["claude-sonnet"])
    assert second is not None and second != "claude-sonnet"
    assert ranked[second].expected_quality >= ranked["gpt-4o-mini"].expected_quality + 0.5


def test_escalation_returns_none_at_the_top(selector: Selector) -> None:
    a = analysis(Domain.CODING, 0.8)
    assert selector.escalation_target("claude-sonnet", a, QUALITY_ONLY) is None
    prefs = Preferences(allowed_models=["gpt-4o-mini", "gpt-4o"])
    health = {"gpt-4o": ModelHealth(model="gpt-4o", provider="gpt", circuit="open")}
    assert selector.escalation_target("gpt-4o-mini", a, prefs, health=health) is None
    assert selector.escalation_target("gpt-4o-mini", a, prefs) == "gpt-4o"


def test_escalation_of_an_unknown_model_fails(selector: Selector) -> None:
    with pytest.raises(UnknownModelError):
        selector.escalation_target("nope", analysis(), QUALITY_ONLY)
