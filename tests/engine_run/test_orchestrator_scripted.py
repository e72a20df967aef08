"""The orchestrator's logic against the scripted client (no network)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from orchestratex.core.catalog import Price
from orchestratex.core.events import (
    CancelledEvent,
    EvaluationEvent,
    Event,
    FailedEvent,
    ImprovementEvent,
    ModelCallEvent,
    ResponseChunkEvent,
    ResponseEvent,
    SelectionEvent,
)
from orchestratex.core.orchestration import (
    OrchestrationRequest,
    Preferences,
    RoundResult,
    RubricScore,
)
from orchestratex.core.types import CompletionRequest, TokenUsage
from orchestratex.engine import Orchestrator, Run
from orchestratex.engine.analysis import analyze
from orchestratex.engine.history import InMemoryPerformance
from orchestratex.engine.selection import Selector
from orchestratex.engine.state import Spent
from orchestratex.testing.scripted_client import MARK, ScriptedClient, verdict
from tests.engine_run.helpers import MODELS, PRICES, assert_well_formed, types

PROMPT = "Explain how a hash map works."
DRAFTS = [f"<d{i}> draft number {i}" for i in range(1, 11)]


def judge_by_draft(scores: dict[int, float]) -> Callable[[CompletionRequest], RubricScore]:
    """A judge script that scores the quoted answer by its <dN> tag."""

    def judge(request: CompletionRequest) -> RubricScore:
        body = request.messages[-1].content
        for i, value in scores.items():
            if f"<d{i}>" in body:
                return verdict(value)
        return verdict(0.0)

    return judge


def steps(base: float = 5.0, step: float = 1.5) -> dict[int, float]:
    return {i: min(10.0, base + step * (i - 1)) for i in range(1, 11)}


async def collect(run: Run) -> list[Event]:
    return [event async for event in run.events()]


async def test_events_are_gap_free_ordered_and_replayed_to_late_subscribers() -> None:
    sunk: list[Event] = []

    async def sink(event: Event) -> None:
        await asyncio.sleep(0)
        sunk.append(event)

    client = ScriptedClient({"alpha": DRAFTS}, judges={"*": judge_by_draft(steps())})
    orch = Orchestrator(client, MODELS, PRICES, sink=sink)
    request = OrchestrationRequest(prompt=PROMPT, model="alpha", judges=["beta", "gamma"])
    run = orch.start(request, thread_id="t-1", first_seq=7)
    live = asyncio.create_task(collect(run))
    result = await run.result()
    late = await collect(run)
    assert run.done and run.thread_id == "t-1" == result.thread_id
    assert [e.seq for e in late] == [e.seq for e in await live] == [e.seq for e in sunk]
    assert_well_formed(late, first_seq=7)
    assert types(late)[-1] == "completed"
    for response in (e for e in late if isinstance(e, ResponseEvent)):
        chunks = [
            e.text for e in late if isinstance(e, ResponseChunkEvent) and e.round == response.round
        ]
        assert "".join(chunks) == response.text and response.text.startswith(MARK)
    judge_calls = [e for e in late if isinstance(e, ModelCallEvent) and e.purpose == "judge"]
    assert len(judge_calls) == 2 * len(result.rounds)
    assert result.total_cost_usd == sum(e.cost_usd for e in late if isinstance(e, ModelCallEvent))
    assert result.usage.total_tokens > sum(r.usage.total_tokens for r in result.rounds) / 2


async def test_threshold_stops_at_round_three() -> None:
    client = ScriptedClient({"alpha": DRAFTS}, judges={"*": judge_by_draft(steps())})
    orch = Orchestrator(client, MODELS, PRICES)
    request = OrchestrationRequest(prompt=PROMPT, model="alpha", threshold=8.0, max_rounds=10)
    result = await orch.run(request)
    assert result.stop_reason == "threshold" and result.status == "completed"
    assert [r.score for r in result.rounds] == [5.0, 6.5, 8.0]
    assert result.best_round == 3 and result.answer is not None and "<d3>" in result.answer


async def test_best_round_is_returned_even_when_it_is_not_the_last() -> None:
    client = ScriptedClient({"alpha": DRAFTS}, judges={"*": judge_by_draft({1: 6, 2: 7.5, 3: 5})})
    orch = Orchestrator(client, MODELS, PRICES)
    request = OrchestrationRequest(prompt=PROMPT, model="alpha", max_rounds=3, judges=["beta"])
    result = await orch.run(request)
    assert [r.score for r in result.rounds] == [6.0, 7.5, 5.0]
    assert result.best_round == 2 and result.score == 7.5
    assert result.answer is not None and "<d2>" in result.answer
    assert result.stop_reason == "max_rounds"


async def test_plateau_escalates_then_stops() -> None:
    prices: dict[str, Price | None] = {
        "alpha": Price(input_per_mtok=50.0, output_per_mtok=50.0),
        "beta": Price(input_per_mtok=0.1, output_per_mtok=0.1),
    }
    client = ScriptedClient(judges={"*": verdict(5.0)})
    orch = Orchestrator(client, MODELS[:2], prices)
    prefs = Preferences(quality_weight=0.1, cost_weight=0.8, latency_weight=0.1)
    result = await orch.run(OrchestrationRequest(prompt=PROMPT, max_rounds=10, preferences=prefs))
    assert result.stop_reason == "plateau" and len(result.rounds) == 3
    assert [r.model for r in result.rounds] == ["beta", "beta", "alpha"]
    assert [r.kind for r in result.rounds] == ["initial", "revision", "escalation"]
    assert result.best_round == 1


async def test_budget_stops_with_the_best_answer_so_far() -> None:
    def make() -> Orchestrator:
        client = ScriptedClient({"alpha": DRAFTS}, judges={"*": judge_by_draft(steps(3.0, 1.0))})
        return Orchestrator(client, MODELS, PRICES)

    one = await make().run(OrchestrationRequest(prompt=PROMPT, model="alpha", max_rounds=1))
    budget = one.total_cost_usd * 4
    request = OrchestrationRequest(
        prompt=PROMPT, model="alpha", max_rounds=10, preferences=Preferences(budget_usd=budget)
    )
    run = make().start(request)
    result = await run.result()
    assert result.stop_reason == "budget" and result.status == "completed"
    assert result.total_cost_usd <= budget
    # The judge calls the budget refused were never made: no usage records, so they do not
    # count as that judge's failures in the analytics.
    calls = [e for e in await collect(run) if isinstance(e, ModelCallEvent)]
    assert all(e.success for e in calls)
    # The third answer fitted; judging it did not, so the run stops there (not on a plateau of
    # unjudged rounds) with the best judged answer.
    assert [r.score for r in result.rounds] == [3.0, 4.0, None]
    assert {v.error_code for v in result.rounds[-1].verdicts} == {"budget_exceeded"}
    assert result.best_round == 2


async def test_one_failing_judge_leaves_a_valid_score() -> None:
    client = ScriptedClient(judges={"beta": verdict(7.0)}, failures={"delta": None})
    run = Orchestrator(client, MODELS, PRICES).start(
        OrchestrationRequest(prompt=PROMPT, model="alpha", max_rounds=1, judges=["beta", "delta"])
    )
    result = await run.result()
    events = await collect(run)
    assert result.score == 7.0 and result.status == "completed" and result.error is None
    evaluation = next(e for e in events if isinstance(e, EvaluationEvent))
    assert {v.judge: v.error is None for v in evaluation.verdicts} == {"beta": True, "delta": False}
    failed = [e for e in events if isinstance(e, ModelCallEvent) and not e.success]
    assert [e.model for e in failed] == ["delta"]


async def test_all_judges_failing_completes_without_a_score() -> None:
    client = ScriptedClient(failures={"beta": None, "gamma": None})
    request = OrchestrationRequest(prompt=PROMPT, model="alpha", judges=["beta", "gamma"])
    result = await Orchestrator(client, MODELS, PRICES).run(request)
    assert result.status == "completed" and result.answer is not None
    assert result.score is None and "score is missing" in (result.error or "")


async def test_generation_failure_falls_back_to_another_model_once() -> None:
    first = Selector(MODELS, PRICES).select(analyze(PROMPT), Preferences()).model
    client = ScriptedClient(failures={first: 1})
    run = Orchestrator(client, MODELS, PRICES).start(
        OrchestrationRequest(prompt=PROMPT, max_rounds=1)
    )
    result = await run.result()
    events = await collect(run)
    selections = [e for e in events if isinstance(e, SelectionEvent)]
    assert [s.decision.model for s in selections][0] == first
    assert len(selections) == 2 and selections[1].decision.model != first
    assert "fallback" in selections[1].decision.reasons[0]
    assert result.status == "completed" and result.rounds[0].model == selections[1].decision.model
    assert_well_formed(events)


async def test_generation_failing_twice_fails_the_run() -> None:
    client = ScriptedClient(failures={m.key: None for m in MODELS})
    run = Orchestrator(client, MODELS, PRICES).start(OrchestrationRequest(prompt=PROMPT))
    result = await run.result()
    events = await collect(run)
    assert result.status == "failed" and isinstance(events[-1], FailedEvent)
    assert events[-1].code == "provider_unavailable" and events[-1].result == result
    generate_calls = [e for e in events if isinstance(e, ModelCallEvent)]
    assert len(generate_calls) == 2 and not any(e.success for e in generate_calls)
    assert_well_formed(events)


async def test_cancel_ends_promptly_with_the_best_answer_so_far() -> None:
    client = ScriptedClient(
        {"alpha": DRAFTS},
        judges={"*": judge_by_draft(steps())},
        delays_s={"alpha": 0.02, "beta": 0.05, "gamma": 5.0},
    )
    orch = Orchestrator(client, MODELS, PRICES)
    request = OrchestrationRequest(prompt=PROMPT, model="alpha", max_rounds=5, judges=["beta"])
    run = orch.start(request)
    async for event in run.events():
        if isinstance(event, ImprovementEvent):
            break
    run.cancel()
    started = time.perf_counter()
    result = await run.result()
    assert time.perf_counter() - started < 0.5
    events = await collect(run)
    assert isinstance(events[-1], CancelledEvent) and events[-1].result == result
    assert result.status == "cancelled" and result.stop_reason == "cancelled"
    assert result.best_round == 1 and result.answer is not None and "<d1>" in result.answer
    assert_well_formed(events)


async def test_cancel_before_the_first_event() -> None:
    run = Orchestrator(ScriptedClient(), MODELS, PRICES).start(OrchestrationRequest(prompt=PROMPT))
    run.cancel()
    result = await run.result()
    events = await collect(run)
    assert result.status == "cancelled" and result.answer is None
    assert [e.type for e in events] == ["started", "cancelled"]
    assert [e.seq for e in events] == [1, 2]


async def test_performance_is_learned_from_the_runs_events() -> None:
    history = InMemoryPerformance()
    client = ScriptedClient(judges={"*": verdict(9.0)})
    orch = Orchestrator(client, MODELS, PRICES, performance=history, sink=history.learn)
    await orch.run(OrchestrationRequest(prompt=PROMPT, model="beta", judges=["alpha"]))
    stats = history.stats()
    assert [(s.model, s.samples, s.mean_score) for s in stats] == [("beta", 1, 9.0)]


async def test_resume_continues_from_earlier_rounds() -> None:
    earlier = RoundResult(
        round=1,
        model="alpha",
        answer=f"{MARK} <d1> draft number 1",
        score=5.0,
        cost_usd=0.5,
        verdicts=[],
    )
    client = ScriptedClient({"alpha": DRAFTS[1:]}, judges={"*": judge_by_draft(steps())})
    run = Orchestrator(client, MODELS, PRICES).start(
        OrchestrationRequest(prompt=PROMPT, model="alpha", max_rounds=2, judges=["beta"]),
        resume_rounds=[earlier],
        first_seq=20,
    )
    result = await run.result()
    events = await collect(run)
    assert_well_formed(events, first_seq=20)
    improvement = next(e for e in events if isinstance(e, ImprovementEvent))
    assert improvement.round == 2 and improvement.previous_score == 5.0
    assert [r.round for r in result.rounds] == [1, 2] and result.best_round == 2
    assert result.total_cost_usd > 0.5
    revise = client.calls_for("revise")[0].request
    assert any("<d1>" in m.content for m in revise.messages)


async def test_a_resumed_run_counts_what_earlier_attempts_spent_against_its_budget() -> None:
    """Earlier attempts paid for round 1 and for a round-2 answer never judged: the recorded
    spending, not round 1's cost alone, is what the resumed run has used of its budget."""
    earlier = RoundResult(
        round=1, model="alpha", answer=f"{MARK} <d1> draft number 1", score=5.0, cost_usd=0.5
    )
    client = ScriptedClient({"alpha": DRAFTS[1:]}, judges={"*": judge_by_draft(steps())})
    request = OrchestrationRequest(
        prompt=PROMPT,
        model="alpha",
        max_rounds=3,
        judges=["beta"],
        preferences=Preferences(budget_usd=1.0),
    )
    spent = Spent(1.0, TokenUsage(input_tokens=900, output_tokens=300))
    result = await Orchestrator(client, MODELS, PRICES).run(
        request, resume_rounds=[earlier], spent_before=spent, first_seq=20
    )
    assert result.stop_reason == "budget" and [r.round for r in result.rounds] == [1]
    assert client.calls_for("revise") == [], "nothing sent past the budget"
    assert result.total_cost_usd == 1.0 and result.usage == spent.usage


async def test_deadline_stops_the_run_with_an_answer() -> None:
    client = ScriptedClient(
        {"alpha": DRAFTS}, judges={"*": judge_by_draft(steps())}, delays_s={"beta": 0.15}
    )
    request = OrchestrationRequest(
        prompt=PROMPT, model="alpha", max_rounds=10, judges=["beta"], deadline_s=0.4
    )
    started = time.perf_counter()
    result = await Orchestrator(client, MODELS, PRICES).run(request)
    assert result.stop_reason == "deadline" and result.status == "completed"
    assert 1 <= len(result.rounds) <= 3 and result.answer is not None
    assert time.perf_counter() - started < 0.6
