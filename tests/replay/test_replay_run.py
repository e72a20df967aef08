"""Whole runs on recorded answers (orchestrator, gateway, replay) and the escalate-only policy."""

from __future__ import annotations

from pathlib import Path

from orchestratex.core.events import Event, ImprovementEvent
from orchestratex.core.orchestration import OrchestrationRequest, Preferences, RoundResult
from orchestratex.engine.improvement import ImprovementPolicy
from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.replay import replay_adapter_factory
from orchestratex.providers.replay_catalog import ANSWER_MODELS, replay_catalog
from orchestratex.providers.replay_data import (
    RECORDED_JUDGE,
    STRONG_MODEL,
    WEAK_MODEL,
    ReplayData,
    ReplayIndex,
)
from tests.replay.test_replay_adapter import gsm8k_split


def _round(n: int, model: str, score: float | None) -> RoundResult:
    return RoundResult(round=n, model=model, answer="a", score=score)


def test_escalate_only_policy_escalates_then_stops_without_a_target() -> None:
    policy = ImprovementPolicy(revise=False)
    request = OrchestrationRequest(prompt="p", threshold=8.0, max_rounds=5)
    rounds = [_round(1, WEAK_MODEL, 2.0)]
    first = policy.decide(
        request, rounds, spent_usd=0.0, elapsed_s=0.0, escalation_target=lambda: STRONG_MODEL
    )
    assert (first.stop, first.strategy, first.to_model) == (None, "escalate", STRONG_MODEL)
    stuck = policy.decide(
        request, rounds, spent_usd=0.0, elapsed_s=0.0, escalation_target=lambda: None
    )
    assert stuck.stop == "plateau" and "no stronger model" in stuck.reason
    # The default policy revises the same model after a first low round.
    default = ImprovementPolicy().decide(
        request, rounds, spent_usd=0.0, elapsed_s=0.0, escalation_target=lambda: STRONG_MODEL
    )
    assert (default.strategy, default.to_model) == ("revise", WEAK_MODEL)


async def test_weak_model_wrong_then_escalation_to_gpt4_right(
    replay_data: ReplayData, index: ReplayIndex
) -> None:
    prompt = gsm8k_split(index)
    catalog = replay_catalog()
    factories = {"replay": replay_adapter_factory(replay_data, pace_s=0.0)}
    gateway = Gateway(catalog, env={}, adapter_factories=factories)
    events: list[Event] = []

    async def sink(event: Event) -> None:
        events.append(event)

    orchestrator = Orchestrator(
        gateway,
        [catalog.get(k) for k in ANSWER_MODELS],
        catalog.prices,
        health=gateway,
        sink=sink,
        policy=ImprovementPolicy(revise=False),
    )
    cheapest_first = Preferences(quality_weight=0.0, cost_weight=1.0, latency_weight=0.0)
    request = OrchestrationRequest(
        prompt=prompt.text,
        judges=[RECORDED_JUDGE],
        judge_count=1,
        preferences=cheapest_first,
        threshold=8.0,
        max_rounds=3,
    )
    result = await orchestrator.run(request)
    await gateway.aclose()

    assert result.status == "completed", result.error
    assert [r.model for r in result.rounds] == [WEAK_MODEL, STRONG_MODEL]
    assert [r.kind for r in result.rounds] == ["initial", "escalation"]
    assert [r.score for r in result.rounds] == [2.0, 9.0]
    assert result.rounds[0].answer == prompt.answers[WEAK_MODEL]
    assert result.answer == prompt.answers[STRONG_MODEL]
    assert result.best_round == 2 and result.stop_reason == "threshold"
    assert result.total_cost_usd > 0
    judges = {v.judge for r in result.rounds for v in r.verdicts}
    assert judges == {RECORDED_JUDGE}
    improvements = [e for e in events if isinstance(e, ImprovementEvent)]
    assert [(e.strategy, e.to_model) for e in improvements] == [("escalate", STRONG_MODEL)]


async def test_a_run_on_an_unrecorded_prompt_fails_clearly(tiny_data: Path) -> None:
    catalog = replay_catalog()
    factories = {"replay": replay_adapter_factory(ReplayData(tiny_data), pace_s=0.0)}
    gateway = Gateway(catalog, env={}, adapter_factories=factories)
    orchestrator = Orchestrator(
        gateway,
        [catalog.get(k) for k in ANSWER_MODELS],
        catalog.prices,
        policy=ImprovementPolicy(revise=False),
    )
    result = await orchestrator.run(
        OrchestrationRequest(prompt="Tell me a joke.", judges=[RECORDED_JUDGE])
    )
    await gateway.aclose()
    assert result.status == "failed"
    assert result.error is not None and "only serves the 3 recorded prompts" in result.error
