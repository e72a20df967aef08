from __future__ import annotations

import time

import pytest

from orchestratex.core.orchestration import JudgeVerdict
from orchestratex.engine.evaluation import CallRecord, aggregate, evaluate
from orchestratex.engine.reliability import JudgeReliability
from orchestratex.testing.scripted_client import ScriptedClient, verdict


async def _evaluate(
    client: ScriptedClient, judges: list[str], reliability: JudgeReliability | None = None
) -> tuple[list[JudgeVerdict], float | None, list[CallRecord]]:
    calls: list[CallRecord] = []

    async def on_call(call: CallRecord) -> None:
        calls.append(call)

    verdicts, score = await evaluate(
        client,
        judges,
        prompt="Explain recursion.",
        answer="A function calling itself.",
        weight=(reliability or JudgeReliability()).weight,
        on_call=on_call,
    )
    return verdicts, score, calls


async def test_malformed_verdict_is_retried_once_then_accepted() -> None:
    client = ScriptedClient(judges={"j1": ["no json here", verdict(6.0)], "j2": verdict(8.0)})
    verdicts, score, calls = await _evaluate(client, ["j1", "j2"])
    assert [v.error for v in verdicts] == [None, None]
    assert score == 7.0
    assert len([c for c in calls if c.model == "j1"]) == 2
    first, retry = [c.request for c in client.calls if c.model == "j1"]
    assert len(retry.messages) == len(first.messages) + 1
    assert "could not be used" in retry.messages[-1].content


async def test_persistently_malformed_or_failing_judges_are_dropped() -> None:
    client = ScriptedClient(
        judges={"bad": "plain prose, twice", "ok": verdict(5.0)}, failures={"down": None}
    )
    verdicts, score, calls = await _evaluate(client, ["bad", "ok", "down"])
    by_judge = {v.judge: v for v in verdicts}
    assert by_judge["bad"].score is None and "malformed" in (by_judge["bad"].error or "")
    assert by_judge["down"].score is None and "provider_unavailable" in (
        by_judge["down"].error or ""
    )
    assert score == 5.0
    assert [c.success for c in calls if c.model == "down"] == [False]


async def test_all_judges_failing_gives_no_score() -> None:
    client = ScriptedClient(failures={"a": None, "b": None})
    verdicts, score, _ = await _evaluate(client, ["a", "b"])
    assert score is None and all(v.error for v in verdicts)


async def test_judges_run_concurrently() -> None:
    client = ScriptedClient(judges={"*": verdict(7.0)}, delays_s={"a": 0.2, "b": 0.2, "c": 0.2})
    started = time.perf_counter()
    await _evaluate(client, ["a", "b", "c"])
    assert time.perf_counter() - started < 0.45


def test_aggregate_is_weighted_by_reliability() -> None:
    verdicts = [
        JudgeVerdict(judge="a", score=verdict(9.0), weight=0.9),
        JudgeVerdict(judge="b", score=verdict(3.0), weight=0.1),
        JudgeVerdict(judge="c", error="down", weight=1.0),
    ]
    assert aggregate(verdicts) == 8.4
    assert aggregate([JudgeVerdict(judge="x", error="bad")]) is None


def test_reliability_learns_who_agrees_with_the_others() -> None:
    rel = JudgeReliability()
    assert rel.weight("new") == pytest.approx(rel.prior)
    for _ in range(10):
        rel.observe(
            [
                JudgeVerdict(judge="a", score=verdict(7.0)),
                JudgeVerdict(judge="b", score=verdict(7.5)),
                JudgeVerdict(judge="outlier", score=verdict(1.0)),
            ]
        )
    assert rel.weight("a") > rel.weight("outlier")
    assert rel.weight("outlier") >= rel.floor
    before = rel.weights()
    rel.observe([JudgeVerdict(judge="a", score=verdict(7.0))])  # one verdict: nothing to compare
    assert rel.weights() == before
