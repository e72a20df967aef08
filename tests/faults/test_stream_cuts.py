"""A stream that fails after its first chunk: another model answers, or the run fails cleanly.

The gateway cannot retry such a stream (its chunks are already out), so the engine tries
another model; each such failure grants the round one more model, up to four.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from orchestratex.core.events import Event, ResponseChunkEvent
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.service import Service
from orchestratex.testing.fake_provider import FaultKind
from tests.faults.conftest import ServiceFactory, Stored, read_store, run_all
from tests.faults.tap import Exchange, FaultPlan, TappedProvider

MID_STREAM: list[FaultKind] = ["cut", "malformed"]


class Chunks:
    """Collects the response_chunk events of the service's bus while a test runs."""

    def __init__(self) -> None:
        self.events: list[ResponseChunkEvent] = []

    def models(self) -> list[str]:
        seen: list[str] = []
        for event in self.events:
            if event.model not in seen:
                seen.append(event.model)
        return seen


async def _follow(service: Service, chunks: Chunks) -> None:
    def wanted(event: Event) -> bool:
        return isinstance(event, ResponseChunkEvent)

    async for event in service.bus.subscribe(wanted):
        assert isinstance(event, ResponseChunkEvent)
        chunks.events.append(event)


@pytest.fixture
async def followed(open_service: ServiceFactory) -> AsyncIterator[tuple[Service, Chunks]]:
    async with open_service(max_retries=1) as service:
        chunks = Chunks()
        task = asyncio.create_task(_follow(service, chunks))
        await asyncio.sleep(0)
        yield service, chunks
        task.cancel()


def _stream_plan(kind: FaultKind, cut: set[int]) -> FaultPlan:
    """A plan giving the `kind` fault to the stream requests numbered in `cut` (from 1)."""
    count = [0]

    def plan(exchange: Exchange) -> FaultKind | None:
        if not exchange.stream:
            return None
        count[0] += 1
        return kind if count[0] in cut else None

    return plan


def _assert_no_orphans(stored: Stored, thread_id: str) -> None:
    """Response rows are exactly the result's rounds: same rounds, models and texts."""
    result = stored.threads[thread_id].result or {}
    rows = sorted((r.round, r.model, r.text) for r in stored.responses if r.thread_id == thread_id)
    assert rows == [(r["round"], r["model"], r["answer"]) for r in result["rounds"]]


@pytest.mark.parametrize("kind", MID_STREAM)
async def test_a_broken_stream_is_answered_by_another_model(
    kind: FaultKind, tapped: TappedProvider, followed: tuple[Service, Chunks]
) -> None:
    service, chunks = followed
    tapped.plan = _stream_plan(kind, {1})
    request = OrchestrationRequest(prompt="Describe a lighthouse.", max_rounds=1, judge_count=2)
    [thread_id] = await run_all(service, [request], 1)
    stored = await read_store(service)

    thread = stored.threads[thread_id]
    assert thread.status == "completed"
    broken, answered = chunks.models()
    assert broken != answered, "the chunks of the broken stream came first, then another model"
    calls = [e.payload for e in stored.events_of(thread_id, "model_call")]
    generate = [(c["model"], c["success"]) for c in calls if c["purpose"] == "generate"]
    assert generate == [(broken, False), (answered, True)]
    failed = next(c for c in calls if not c["success"])
    assert "malformed_response" in failed["error"] and failed["usage"]["output_tokens"] == 0
    selections = stored.events_of(thread_id, "selection")
    assert selections[-1].payload["decision"]["model"] == answered
    assert selections[-1].payload["decision"]["reasons"][0].startswith(f"fallback: {broken}")
    _assert_no_orphans(stored, thread_id)
    assert [r.model for r in stored.responses] == [answered]


@pytest.mark.parametrize("kind", MID_STREAM)
async def test_every_stream_broken_fails_the_run_cleanly(
    kind: FaultKind, tapped: TappedProvider, followed: tuple[Service, Chunks]
) -> None:
    service, chunks = followed
    tapped.plan = _stream_plan(kind, set(range(1, 100)))
    request = OrchestrationRequest(prompt="Describe a lighthouse.", max_rounds=2, judge_count=2)
    [thread_id] = await run_all(service, [request], 1)
    stored = await read_store(service)

    thread = stored.threads[thread_id]
    assert thread.status == "failed" and thread.error
    assert "malformed_response" in thread.error
    [failed] = stored.events_of(thread_id, "failed")
    assert failed.payload["code"] == "malformed_response"
    generate = [u for u in stored.usage_of(thread_id) if u.purpose == "generate"]
    assert len(generate) == 4 and not any(u.success for u in generate), "four models tried"
    assert len(set(chunks.models())) == 4 and {u.model for u in generate} == set(chunks.models())
    assert all(u.input_tokens == u.output_tokens == 0 for u in generate), "no usage report"
    # Billed for the prompt and the words sent before the break: the gate's estimate.
    assert all(u.cost_usd > 0 and not u.cost_known for u in generate)
    assert [r for r in stored.responses if r.thread_id == thread_id] == []
    assert stored.events_of(thread_id, "evaluation") == []


async def test_a_broken_revision_keeps_the_first_answer(
    tapped: TappedProvider, followed: tuple[Service, Chunks]
) -> None:
    """Round 1 answers; every stream of round 2 breaks: the run completes with round 1."""
    service, _ = followed
    tapped.plan = _stream_plan("cut", set(range(2, 100)))
    request = OrchestrationRequest(prompt="Describe a lighthouse.", max_rounds=2, judge_count=2)
    [thread_id] = await run_all(service, [request], 1)
    stored = await read_store(service)

    thread = stored.threads[thread_id]
    result = thread.result or {}
    assert thread.status == "completed" and thread.stop_reason == "failed"
    assert result["best_round"] == 1 and result["answer"]
    assert result["error"].startswith("round 2: generation with")
    revise = [u for u in stored.usage_of(thread_id) if u.purpose == "revise"]
    assert len(revise) == 4 and not any(u.success for u in revise)
    _assert_no_orphans(stored, thread_id)
    assert [r.round for r in stored.responses] == [1]


async def test_judges_that_time_out_leave_estimated_usage_and_the_answer_stands(
    tapped: TappedProvider, open_service: ServiceFactory
) -> None:
    """Every judge call (a whole reply) hangs past the call's timeout: each was sent and may be
    billed, so each leaves a failed usage row at the gate's estimate (not a known 0); the answer
    stands, unjudged."""
    tapped.options.hang_s = 5.0
    tapped.plan = lambda exchange: None if exchange.stream else "timeout"
    async with open_service(max_retries=0, timeout_s=0.3) as service:
        request = OrchestrationRequest(prompt="Describe a lighthouse.", max_rounds=2, judge_count=2)
        [thread_id] = await run_all(service, [request], 1)
        stored = await read_store(service)
    thread = stored.threads[thread_id]
    assert thread.status == "completed", thread.error
    judges = [u for u in stored.usage_of(thread_id) if u.purpose == "judge"]
    assert judges and not any(u.success for u in judges)
    assert all(u.input_tokens == u.output_tokens == 0 for u in judges), "no usage report"
    assert all(u.cost_usd > 0 and not u.cost_known for u in judges)
    assert "timeout" in (judges[0].error or "")
    assert [r.model for r in stored.responses if r.thread_id == thread_id]
