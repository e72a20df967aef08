from __future__ import annotations

from orchestratex.core.orchestration import OrchestrationRequest, Preferences, RoundResult
from orchestratex.engine.improvement import Decision, ImprovementPolicy


def _rounds(
    *scores: float | None, cost: float = 1.0, latency_ms: float = 100.0
) -> list[RoundResult]:
    return [
        RoundResult(
            round=i, model="m", answer=f"a{i}", score=s, cost_usd=cost, latency_ms=latency_ms
        )
        for i, s in enumerate(scores, start=1)
    ]


def _decide(
    request: OrchestrationRequest,
    rounds: list[RoundResult],
    spent: float = 0.0,
    elapsed: float = 0.0,
    target: str | None = None,
) -> Decision:
    return ImprovementPolicy().decide(
        request, rounds, spent_usd=spent, elapsed_s=elapsed, escalation_target=lambda: target
    )


def test_stalled_counts_rounds_without_gain() -> None:
    policy = ImprovementPolicy()
    assert policy.stalled(_rounds(5.0)) == 0
    assert policy.stalled(_rounds(5.0, 5.1)) == 1
    assert policy.stalled(_rounds(5.0, 5.1, 4.0)) == 2
    assert policy.stalled(_rounds(5.0, 5.1, 6.0)) == 0
    assert policy.stalled(_rounds(None)) == 1


def test_stop_reasons() -> None:
    req = OrchestrationRequest(prompt="p", threshold=8.0, max_rounds=5)
    assert _decide(req, _rounds(8.0)).stop == "threshold"
    assert _decide(req, _rounds(5.0, 6.0, 7.0, 7.5, 7.9)).stop == "max_rounds"
    assert _decide(req, _rounds(5.0, 5.1, 5.0)).stop == "plateau"
    assert _decide(req, _rounds(5.0, 6.0)).stop is None


def test_an_unjudged_run_stops_after_its_answer() -> None:
    """Without judges a revision would have no verdict to work from: one answer, then stop."""
    unjudged = OrchestrationRequest(prompt="p", judge_count=0, max_rounds=5)
    assert _decide(unjudged, _rounds(None)).stop == "unjudged"
    one_round = OrchestrationRequest(prompt="p", judge_count=0, max_rounds=1)
    assert _decide(one_round, _rounds(None)).stop == "max_rounds"
    named = OrchestrationRequest(prompt="p", judge_count=0, judges=["j"], max_rounds=5)
    assert _decide(named, _rounds(5.0)).stop is None


def test_budget_stops_before_an_unaffordable_round() -> None:
    req = OrchestrationRequest(prompt="p", preferences=Preferences(budget_usd=2.5))
    assert _decide(req, _rounds(5.0), spent=1.0).stop is None
    assert _decide(req, _rounds(5.0, 6.0), spent=2.0).stop == "budget"
    assert _decide(req, _rounds(5.0), spent=2.6).stop == "budget"


def test_deadline_stops_before_a_round_that_would_pass_it() -> None:
    req = OrchestrationRequest(prompt="p", deadline_s=1.0)
    assert _decide(req, _rounds(5.0, latency_ms=300.0), elapsed=0.5).stop is None
    assert _decide(req, _rounds(5.0, latency_ms=600.0), elapsed=0.5).stop == "deadline"


def test_escalates_only_when_a_revision_stalls() -> None:
    req = OrchestrationRequest(prompt="p", max_rounds=5)
    first = _decide(req, _rounds(5.0), target="big")
    assert first.strategy == "revise" and first.to_model == "m"
    stalled = _decide(req, _rounds(5.0, 5.1), target="big")
    assert stalled.strategy == "escalate" and stalled.to_model == "big"
    nowhere = _decide(req, _rounds(5.0, 5.1), target=None)
    assert nowhere.strategy == "revise"
