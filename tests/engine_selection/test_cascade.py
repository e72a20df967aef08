"""Start cheap when unsure: selection's cascade plans and the escalation rule."""

from __future__ import annotations

import pytest

from orchestratex.core.orchestration import Preferences, RoundResult
from orchestratex.core.types import TokenConfidence
from orchestratex.engine.cascade import CascadeSettings, needs_escalation, p_better
from orchestratex.engine.estimates import QualityEstimate
from orchestratex.engine.router import RouterVerdict
from orchestratex.engine.selection import Selector
from tests.engine_selection.catalog import MODELS, PRICES, analysis
from tests.engine_selection.stubs import FixedQuality, FixedRouter

PAIR = ("gpt-4o", "mistral-small")
QUALITY_ONLY = Preferences(quality_weight=1.0, cost_weight=0.0, latency_weight=0.0)


def routed(score: float, known: bool = True, band: float = 0.1) -> Selector:
    verdict = RouterVerdict(score=score, known=known, nearest=0.2, basis="embeddings")
    return Selector(
        MODELS,
        PRICES,
        router=FixedRouter(verdict),
        router_models=PAIR,
        router_threshold=0.25,
        cascade_band=band,
    )


@pytest.mark.parametrize(
    ("score", "model", "strategy"),
    [
        (0.05, "mistral-small", "learned"),  # sure it is easy
        (0.16, "mistral-small", "cascade"),  # within 0.1 under the threshold
        (0.30, "mistral-small", "cascade"),  # within 0.1 over it: would have been the strong one
        (0.36, "gpt-4o", "learned"),  # sure it is hard
    ],
)
def test_router_band_around_the_threshold(score: float, model: str, strategy: str) -> None:
    decision = routed(score).select(analysis(), Preferences(), prompt="p", cascade=True)
    assert (decision.model, decision.strategy) == (model, strategy)
    if strategy == "cascade":
        plan = decision.cascade
        assert plan is not None and (plan.start, plan.escalate_to) == ("mistral-small", "gpt-4o")
        assert plan.signal == "router" and plan.p_strong == score and plan.indifference == 0.25
        assert decision.reasons[0].startswith("started with the cheaper mistral-small")
        assert (
            f"strong score {score:.3f} is within 0.10 of its threshold 0.25"
            in (decision.reasons[0])
        )
        assert any("router strong score" in r for r in decision.reasons[1:])
    else:
        assert decision.cascade is None


def test_no_cascade_unless_the_run_can_escalate_or_with_band_zero() -> None:
    assert routed(0.3).select(analysis(), Preferences(), prompt="p").model == "gpt-4o"
    off = routed(0.3, band=0.0).select(analysis(), Preferences(), prompt="p", cascade=True)
    assert (off.model, off.strategy, off.cascade) == ("gpt-4o", "learned", None)


def test_a_prompt_the_router_calls_unknown_starts_cheap() -> None:
    decision = routed(0.9, known=False).select(analysis(), Preferences(), prompt="p", cascade=True)
    assert decision.model == "mistral-small" and decision.strategy == "cascade"
    assert decision.cascade is not None and decision.cascade.signal == "router-unknown"
    assert (
        "unlike the learned router's training prompts (nearest similarity 0.20)"
        in (decision.reasons[0])
    )
    # without a way to escalate, it falls back to the priors, as before
    plain = routed(0.9, known=False).select(analysis(), Preferences(), prompt="p")
    assert plain.strategy == "weighted" and plain.cascade is None


def learned(gap: float, std: float = 0.4) -> Selector:
    table = {m.key: QualityEstimate(3.0, 0.2, 100) for m in MODELS}
    table["gpt-4o"] = QualityEstimate(8.0, std, 100)
    table["gpt-4o-mini"] = QualityEstimate(8.0 - gap, std, 100)
    return Selector(MODELS, PRICES, quality_model=FixedQuality(table))


def test_learned_quality_too_close_to_call_starts_with_the_cheaper_model() -> None:
    close = learned(0.1).select(analysis(), QUALITY_ONLY, prompt="p", cascade=True)
    assert close.model == "gpt-4o-mini" and close.strategy == "cascade"
    plan = close.cascade
    assert plan is not None and (plan.start, plan.escalate_to) == ("gpt-4o-mini", "gpt-4o")
    assert plan.p_strong == pytest.approx(
        p_better(QualityEstimate(8.0, 0.4, 100), QualityEstimate(7.9, 0.4, 100))
    )
    assert "the learned quality cannot tell them apart" in close.reasons[0]
    assert any("learned from judged history" in r for r in close.reasons[1:])
    clear = learned(1.0).select(analysis(), QUALITY_ONLY, prompt="p", cascade=True)
    assert (clear.model, clear.strategy) == ("gpt-4o", "weighted")
    # the priors alone never start a cascade: they are no per-prompt signal
    priors = Selector(MODELS, PRICES).select(analysis(), QUALITY_ONLY, prompt="p", cascade=True)
    assert priors.cascade is None


def test_p_better() -> None:
    a, b = QualityEstimate(8.0, 0.3, 10), QualityEstimate(7.0, 0.4, 10)
    assert p_better(a, b) == pytest.approx(0.9772, abs=1e-3)  # z = 1 / 0.5 = 2
    assert p_better(b, a) == pytest.approx(1 - p_better(a, b))
    assert p_better(QualityEstimate(5, 0, 1), QualityEstimate(5, 0, 1)) == 0.5


def _round(score: float | None, logprob: float | None) -> RoundResult:
    conf = (
        None
        if logprob is None
        else TokenConfidence(tokens=40, mean_logprob=logprob, min_logprob=-3)
    )
    return RoundResult(round=1, model="cheap", answer="a", score=score, confidence=conf)


@pytest.mark.parametrize(
    ("score", "logprob", "escalate", "said"),
    [
        (6.0, None, True, "under the threshold 8.0"),
        (None, None, True, "no judge scored"),
        (8.5, None, False, "scored the answer of cheap 8.50"),
        (8.5, -0.05, False, "token confidence 0.95"),
        (8.5, -1.2, True, "token confidence 0.30 (mean log-prob -1.20 over 40 tokens) is under"),
        (6.0, -0.05, True, "under the threshold"),
    ],
)
def test_escalation_on_the_verdict_and_the_answer_s_own_confidence(
    score: float | None, logprob: float | None, escalate: bool, said: str
) -> None:
    got, why = needs_escalation(_round(score, logprob), 8.0, 0.5)
    assert got is escalate and said in why


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        CascadeSettings(band=0.6)
    with pytest.raises(ValueError):
        CascadeSettings(min_confidence=1.5)
    with pytest.raises(ValueError):
        Selector(MODELS, PRICES, cascade_band=-0.1)
