from __future__ import annotations

import random

import pytest

from orchestratex.core.catalog import Price
from orchestratex.core.errors import NoModelAvailableError
from orchestratex.core.orchestration import CandidateScore, Preferences
from orchestratex.core.performance import HEALTH_FLOOR, ModelHealth, PerformanceStats
from orchestratex.core.types import Domain
from orchestratex.engine.history import InMemoryPerformance
from orchestratex.engine.selection import Selector
from tests.engine_selection.catalog import EXTRA, EXTRA_PRICES, MODELS, PRICES, analysis, spec

QUALITY_ONLY = Preferences(quality_weight=1.0, cost_weight=0.0, latency_weight=0.0)
COST_ONLY = Preferences(quality_weight=0.0, cost_weight=1.0, latency_weight=0.0)


@pytest.fixture
def selector() -> Selector:
    return Selector(MODELS + EXTRA, {**PRICES, **EXTRA_PRICES})


def by_model(candidates: list[CandidateScore]) -> dict[str, CandidateScore]:
    return {c.model: c for c in candidates}


def low_scores(model: str, n: int, mean: float = 4.0) -> PerformanceStats:
    return PerformanceStats(
        model=model,
        domain=Domain.CODING,
        samples=n,
        mean_score=mean,
        score_variance=1.0,
        successes=n,
    )


@pytest.mark.parametrize("prefs", [QUALITY_ONLY, Preferences()])
def test_coding_prompt_prefers_the_coding_specialist(
    selector: Selector, prefs: Preferences
) -> None:
    decision = selector.select(analysis(Domain.CODING, 0.6), prefs)
    assert decision.model == "claude-sonnet"
    assert decision.reasons[0].startswith("coding prompt, complexity 0.60: claude-sonnet has")
    assert "highest expected quality 8.8" in decision.reasons[0]
    assert len(decision.candidates) == len(MODELS) + len(EXTRA)


def test_math_prompt_moves_to_math_models(selector: Selector) -> None:
    decision = selector.select(analysis(Domain.MATH, 0.5), QUALITY_ONLY)
    assert decision.model in {"grok-3", "qwen-max"}
    assert decision.model != selector.select(analysis(Domain.CODING, 0.5), QUALITY_ONLY).model


@pytest.mark.parametrize("domain", list(Domain))
def test_cost_weight_alone_picks_the_cheapest(selector: Selector, domain: Domain) -> None:
    decision = selector.select(analysis(domain, 0.3), COST_ONLY)
    cheapest = min(decision.candidates, key=lambda c: c.expected_cost_usd)
    assert decision.model == cheapest.model == "llama-8b"


def test_allowed_models_are_respected(selector: Selector) -> None:
    prefs = Preferences(allowed_models=["gpt-4o-mini", "claude-haiku"])
    decision = selector.select(analysis(), prefs)
    assert decision.model in {"gpt-4o-mini", "claude-haiku"}
    ranked = decision.candidates
    assert {c.model for c in ranked if c.excluded is None} == {"gpt-4o-mini", "claude-haiku"}
    assert by_model(ranked)["claude-sonnet"].excluded == "not in allowed_models"
    assert [c.excluded is None for c in ranked[:2]] == [True, True]


def test_budget_excludes_expensive_models(selector: Selector) -> None:
    prefs = Preferences(budget_usd=0.005)
    ranked = by_model(selector.rank(analysis(), prefs))
    for key in ("claude-sonnet", "gpt-4o", "grok-3"):
        reason = ranked[key].excluded
        assert reason is not None and "over the budget $0.0050" in reason
    unknown = ranked["qwen-coder"].excluded
    assert unknown is not None and "price unknown" in unknown
    assert ranked["gpt-4o-mini"].excluded is None
    chosen = selector.select(analysis(), prefs)
    assert by_model(chosen.candidates)[chosen.model].expected_cost_usd <= 0.005


def test_token_estimates_drive_expected_cost(selector: Selector) -> None:
    small = by_model(selector.rank(analysis(), Preferences()))["gpt-4o"].expected_cost_usd
    big = by_model(
        selector.rank(
            analysis(), Preferences(), expected_input_tokens=5000, expected_output_tokens=7000
        )
    )["gpt-4o"].expected_cost_usd
    assert small == pytest.approx((500 * 2.5 + 700 * 10.0) / 1e6)
    assert big == pytest.approx(10 * small)


def test_unhealthy_models_are_excluded_with_the_reason(selector: Selector) -> None:
    health = {
        "claude-sonnet": ModelHealth(model="claude-sonnet", provider="claude", circuit="open"),
        "gpt-4o": ModelHealth(model="gpt-4o", provider="gpt", configured=False),
        "grok-3": ModelHealth(model="grok-3", provider="grok", circuit="half_open"),
    }
    decision = selector.select(analysis(), QUALITY_ONLY, health=health)
    ranked = by_model(decision.candidates)
    assert decision.model not in {"claude-sonnet", "gpt-4o"}
    assert ranked["claude-sonnet"].excluded == "circuit open"
    assert ranked["claude-sonnet"].health == 0.0
    assert ranked["gpt-4o"].excluded == "provider not configured"
    assert ranked["grok-3"].excluded is None and ranked["grok-3"].health == 0.5
    assert "claude-sonnet excluded: circuit open" in decision.reasons
    same_basis = selector.rank(analysis(), QUALITY_ONLY, exclude=["claude-sonnet", "gpt-4o"])
    healthy = by_model(same_basis)
    assert ranked["grok-3"].score == pytest.approx(healthy["grok-3"].score * 0.5)


def test_a_model_whose_recent_calls_failed_is_ranked_down_not_excluded(
    selector: Selector,
) -> None:
    """Only an open circuit excludes a model: a few failures with the circuit still closed rank
    it down (HEALTH_FLOOR), so it stays choosable and its breaker can still probe it."""
    failed = ModelHealth(
        model="claude-sonnet", provider="claude", recent_success_rate=0.0, recent_calls=3
    )
    ranked = by_model(selector.rank(analysis(), QUALITY_ONLY, health={"claude-sonnet": failed}))
    healthy = by_model(selector.rank(analysis(), QUALITY_ONLY))
    assert ranked["claude-sonnet"].excluded is None
    assert ranked["claude-sonnet"].health == HEALTH_FLOOR
    assert ranked["claude-sonnet"].score == pytest.approx(
        healthy["claude-sonnet"].score * HEALTH_FLOOR
    )
    only = selector.select(
        analysis(),
        QUALITY_ONLY,
        health={"claude-sonnet": failed},
        exclude=[m for m in healthy if m != "claude-sonnet"],
    )
    assert only.model == "claude-sonnet"


def test_disabled_and_caller_excluded(selector: Selector) -> None:
    models = [*MODELS, spec("off", "x", "large", (1.0, 1.0, 1.0, 1.0, 1.0), enabled=False)]
    sel = Selector(models, PRICES)
    decision = sel.select(analysis(), QUALITY_ONLY, exclude=["claude-sonnet"])
    ranked = by_model(decision.candidates)
    assert ranked["off"].excluded == "disabled"
    assert ranked["claude-sonnet"].excluded == "excluded by the caller"
    assert decision.model == "gpt-4o"
    assert decision.candidates[-1].excluded is not None


def test_history_of_low_scores_moves_selection(selector: Selector) -> None:
    before = selector.select(analysis(), QUALITY_ONLY)
    assert before.model == "claude-sonnet"
    history = InMemoryPerformance()
    for i in range(30):
        score = 3.5 + (i % 3) * 0.5
        history.record(
            "claude-sonnet", Domain.CODING, score, success=True, latency_ms=4000, cost_usd=0.01
        )
    after = selector.select(analysis(), QUALITY_ONLY, performance=history.stats())
    assert after.model != "claude-sonnet"
    assert by_model(after.candidates)["claude-sonnet"].expected_quality < 5.5
    # history of another domain does not change the coding estimate
    other = [low_scores("claude-sonnet", 30).model_copy(update={"domain": Domain.MATH})]
    assert selector.select(analysis(), QUALITY_ONLY, performance=other).model == "claude-sonnet"


def test_few_samples_move_the_estimate_less_than_many(selector: Selector) -> None:
    prior = by_model(selector.rank(analysis(), QUALITY_ONLY))["claude-sonnet"]
    few = by_model(
        selector.rank(analysis(), QUALITY_ONLY, performance=[low_scores("claude-sonnet", 2)])
    )["claude-sonnet"]
    many = by_model(
        selector.rank(analysis(), QUALITY_ONLY, performance=[low_scores("claude-sonnet", 40)])
    )["claude-sonnet"]
    assert many.expected_quality < few.expected_quality < prior.expected_quality
    assert many.quality_uncertainty < few.quality_uncertainty
    # two bad answers are not enough to dethrone the specialist; forty are
    assert (
        selector.select(
            analysis(), QUALITY_ONLY, performance=[low_scores("claude-sonnet", 2, 7.0)]
        ).model
        == "claude-sonnet"
    )
    assert (
        selector.select(
            analysis(), QUALITY_ONLY, performance=[low_scores("claude-sonnet", 40, 7.0)]
        ).model
        != "claude-sonnet"
    )


def test_exploration_bonus_shrinks_with_samples() -> None:
    a = spec("veteran", "a", "large", (0.76, 0.7, 0.7, 0.7, 0.7))
    b = spec("newcomer", "b", "large", (0.74, 0.7, 0.7, 0.7, 0.7))
    prices = {"veteran": None, "newcomer": None}
    history = [
        PerformanceStats(
            model="veteran",
            domain=Domain.CODING,
            samples=60,
            mean_score=7.6,
            score_variance=1.0,
            successes=60,
        )
    ]
    greedy = Selector([a, b], prices, exploration=0.0)
    curious = Selector([a, b], prices, exploration=1.0)
    assert greedy.select(analysis(complexity=0.0), QUALITY_ONLY, performance=history).model == (
        "veteran"
    )
    picked = curious.select(analysis(complexity=0.0), QUALITY_ONLY, performance=history)
    assert picked.model == "newcomer"
    assert any("no judged answers in coding" in r for r in picked.reasons)
    stds = []
    for n in (0, 1, 3, 10, 30, 100):
        stats = [
            PerformanceStats(
                model="newcomer",
                domain=Domain.CODING,
                samples=n,
                mean_score=7.4,
                score_variance=1.0,
            )
        ]
        ranked = by_model(curious.rank(analysis(complexity=0.0), QUALITY_ONLY, performance=stats))
        stds.append(ranked["newcomer"].quality_uncertainty)
    assert stds == sorted(stds, reverse=True) and stds[-1] < stds[0] / 3
    # once the newcomer is well known, the veteran's better mean wins again
    known = [
        *history,
        PerformanceStats(
            model="newcomer", domain=Domain.CODING, samples=60, mean_score=7.4, score_variance=1.0
        ),
    ]
    assert curious.select(analysis(complexity=0.0), QUALITY_ONLY, performance=known).model == (
        "veteran"
    )


def test_failures_lower_the_score() -> None:
    a = spec("flaky", "a", "large", (0.8, 0.8, 0.8, 0.8, 0.8))
    b = spec("steady", "b", "large", (0.78, 0.8, 0.8, 0.8, 0.8))
    sel = Selector([a, b], {})
    assert sel.select(analysis(), QUALITY_ONLY).model == "flaky"
    failing = [
        PerformanceStats(
            model="flaky", domain=Domain.MATH, samples=0, mean_score=0.0, successes=10, failures=30
        )
    ]
    decision = sel.select(analysis(), QUALITY_ONLY, performance=failing)
    assert decision.model == "steady"
    assert "no model has a known price: cost did not count" in decision.reasons


def test_unknown_price_is_assumed_most_expensive_and_said(selector: Selector) -> None:
    ranked = by_model(selector.rank(analysis(), Preferences()))
    assert ranked["qwen-coder"].expected_cost_usd == pytest.approx(
        max(c.expected_cost_usd for m, c in ranked.items() if m != "qwen-coder")
    )
    decision = selector.select(analysis(), QUALITY_ONLY, exclude=["claude-sonnet", "gpt-4o"])
    assert decision.model == "qwen-coder"
    assert any(r.startswith("no known price for qwen-coder") for r in decision.reasons)
    learned = [
        PerformanceStats(
            model="qwen-coder",
            domain=Domain.GENERAL,
            samples=0,
            mean_score=0.0,
            successes=4,
            mean_cost_usd=0.002,
        )
    ]
    ranked = by_model(selector.rank(analysis(), Preferences(), performance=learned))
    assert ranked["qwen-coder"].expected_cost_usd == pytest.approx(0.002)


def test_reasons_explain_a_cheaper_choice(selector: Selector) -> None:
    prefs = Preferences(quality_weight=0.3, cost_weight=0.6, latency_weight=0.1)
    decision = selector.select(analysis(Domain.GENERAL, 0.1), prefs)
    best_quality = max(decision.candidates, key=lambda c: c.expected_quality)
    assert decision.model != best_quality.model
    assert "has the best weighted score" in decision.reasons[0]
    assert decision.reasons[1].startswith(f"{best_quality.model} has a higher expected quality")
    assert "as much" in decision.reasons[1]
    assert decision.reasons[-1] == "weights: quality 0.30, cost 0.60, latency 0.10"


def test_no_model_available_lists_every_reason(selector: Selector) -> None:
    prefs = Preferences(allowed_models=["gpt-4o", "claude-sonnet"], budget_usd=0.01)
    health = {"gpt-4o": ModelHealth(model="gpt-4o", provider="gpt", circuit="open")}
    with pytest.raises(NoModelAvailableError) as info:
        selector.select(analysis(), prefs, health=health)
    message = info.value.message
    assert "gpt-4o: circuit open" in message
    assert "claude-sonnet: expected cost $0.0120 over the budget $0.0100" in message
    assert "llama-8b: not in allowed_models" in message
    assert info.value.code == "no_model_available"
    with pytest.raises(NoModelAvailableError, match="no models"):
        Selector([], {}).select(analysis(), Preferences())


def test_ranking_is_deterministic_and_order_independent() -> None:
    models = MODELS + EXTRA
    prices = {**PRICES, **EXTRA_PRICES}
    stats = [low_scores("gpt-4o", 5, 7.0), low_scores("llama-70b", 3, 8.0)]
    first = Selector(models, prices).select(analysis(), Preferences(), performance=stats)
    shuffled = list(models)
    random.Random(3).shuffle(shuffled)
    for _ in range(3):
        again = Selector(shuffled, prices).select(analysis(), Preferences(), performance=stats)
        assert again.model_dump() == first.model_dump()


def test_constructor_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Selector([MODELS[0], MODELS[0]], PRICES)
    with pytest.raises(ValueError, match="exploration"):
        Selector(MODELS, PRICES, exploration=-1.0)


def test_reasons_mention_a_near_cheaper_runner_up() -> None:
    strong = spec("strong", "a", "large", (0.84, 0.8, 0.8, 0.8, 0.8))
    thrifty = spec("thrifty", "b", "large", (0.82, 0.8, 0.8, 0.8, 0.8))
    prices: dict[str, Price | None] = {
        "strong": Price(input_per_mtok=3.0, output_per_mtok=15.0),
        "thrifty": Price(input_per_mtok=0.3, output_per_mtok=1.5),
    }
    decision = Selector([strong, thrifty], prices).select(analysis(), QUALITY_ONLY)
    assert decision.model == "strong"
    assert decision.reasons[1].startswith("cheaper thrifty was within 0.2 points but scored")
