"""Sustained failure: a model that is down for good, and a provider that rate-limits every call."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from orchestratex.api.app import create_app
from orchestratex.core.orchestration import OrchestrationRequest, Preferences
from orchestratex.providers.breaker import BreakerSettings, failures_to_open
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from tests.faults.conftest import ServiceFactory, read_store, run_all
from tests.faults.tap import TappedProvider
from tests.waiting import status_ended

MIN_CALLS = BreakerSettings().min_calls
"""The default breaker: a window of this many calls nearly all failed opens a model's circuit."""
DOWN_ID = "fake-gpt-large-down"


async def test_a_model_down_for_good_fails_its_forced_runs_and_opens_its_circuit(
    tapped: TappedProvider, open_service: ServiceFactory
) -> None:
    """Runs forced onto a down model fail with that model's own error: the gateway never
    substitutes another model (fallback is the engine's, and a forced model is not replaced).
    Once the circuit is open, the down model gets no more requests and runs fail at once."""
    request = OrchestrationRequest(
        prompt="Summarise the water cycle.", model="fake-gpt", max_rounds=1, judge_count=1
    )
    concurrency = 4
    async with open_service(down=["fake-gpt"], max_retries=1) as service:
        first = await run_all(service, [request] * 8, concurrency)
        circuit = service.gateway.health()["fake-gpt"].circuit
        down_calls = tapped.stats.by_model[DOWN_ID]
        second = await run_all(service, [request] * 8, concurrency)
        stored = await read_store(service)

    assert circuit == "open"
    # Before the circuit opened: the failures that opened it, plus calls already under way.
    in_flight = concurrency * 2  # a first attempt and a retry per run at most
    assert MIN_CALLS <= down_calls <= MIN_CALLS + in_flight
    assert tapped.stats.by_model[DOWN_ID] == down_calls, "an open circuit sends nothing"
    assert set(tapped.stats.by_model) == {DOWN_ID}, "no other model was asked instead"
    for thread_id in first + second:
        thread = stored.threads[thread_id]
        assert thread.status == "failed"
        assert thread.error and "fake-gpt" in thread.error
    for thread_id in second:
        assert "circuit_open" in (stored.threads[thread_id].error or "")
    assert stored.responses == []
    calls = [e.payload for e in stored.events if e.type == "model_call"]
    assert len(calls) == 16, "one failed generation call recorded per run"
    assert all(not c["success"] and c["model"] == "fake-gpt" for c in calls)
    for row in stored.usage:
        assert (row.success, row.input_tokens, row.model) == (False, 0, "fake-gpt")


async def test_a_provider_rate_limiting_every_call_fails_runs_cleanly(
    tapped: TappedProvider, tmp_path: Path
) -> None:
    """Every call answered 429: the run ends `failed` with code rate_limited, promptly, after
    a bounded number of requests, and no circuit opens (a rate limit is not an outage)."""
    options = tapped.options
    options.fail_rate = 1.0
    options.faults = ["rate_limit"]
    options.retry_after_s = 0.05
    app = create_app(Settings(data_dir=tmp_path), catalog=fake_catalog(tapped.openai_base_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            started = time.perf_counter()
            body = {"prompt": "List three prime numbers.", "max_rounds": 2, "judge_count": 2}
            response = await client.post("/api/orchestrate/prompt", json=body)
            assert response.status_code == 202, response.text
            status = await status_ended(client, response.json()["thread_id"], timeout_s=20)
            elapsed = time.perf_counter() - started
        service = app.state.service
        health = service.gateway.health()
        stored = await read_store(service)

    assert status["status"] == "failed"
    assert "rate_limited" in status["error"] and status["answer"] is None
    assert elapsed < 10.0
    [failed] = [e for e in stored.events if e.type == "failed"]
    assert failed.payload["code"] == "rate_limited"
    # At most 2 models tried by the engine, each with up to 3 attempts in the gateway.
    assert 1 <= len(tapped.exchanges) <= 2 * 3
    assert {h.circuit for h in health.values()} == {"closed"}
    assert stored.responses == []
    assert all(not u.success and u.input_tokens == 0 for u in stored.usage)


async def test_a_provider_hard_down_opens_its_circuit_and_selection_goes_elsewhere(
    tapped: TappedProvider, open_service: ServiceFactory
) -> None:
    """The Anthropic-dialect provider (fake-claude, the best coder of the allowed models)
    answers 500 to every request. With the default breaker, its circuit opens once `min_calls`
    calls in its window have nearly all failed (runs forced onto it, one at a time); from then
    on, selection leaves it out ("circuit open") and another model answers, without a request
    to the down one."""
    allowed = Preferences(
        quality_weight=1.0,
        cost_weight=0.0,
        latency_weight=0.0,
        allowed_models=["fake-claude", "fake-llama", "fake-mistral"],
    )
    chosen = OrchestrationRequest(
        prompt="Write a Python function that merges two sorted lists.",
        max_rounds=1,
        judge_count=1,
        preferences=allowed,
    )
    forced = chosen.model_copy(update={"model": "fake-claude"})
    async with open_service() as service:
        [healthy] = await run_all(service, [chosen], 1)
        tapped.plan = lambda exchange: "server_error" if exchange.path == "/v1/messages" else None
        before = tapped.stats.by_model["fake-claude-large"]
        down = await run_all(service, [forced] * 5, 1)  # one at a time: nothing in flight
        sent = tapped.stats.by_model["fake-claude-large"] - before
        health = service.gateway.health()["fake-claude"]
        elsewhere = await run_all(service, [chosen] * 3, 1)
        stored = await read_store(service)

    def decision(thread_id: str) -> dict[str, object]:
        [event] = stored.events_of(thread_id, "selection")
        found: dict[str, object] = event.payload["decision"]
        return found

    assert decision(healthy)["model"] == "fake-claude", "the test's premise: claude is chosen"
    assert stored.threads[healthy].status == "completed"
    assert before == 1, "the healthy run's answer: one call of fake-claude, a success"
    # Then 9 failures: 9 of the window's 10 calls failed (>= 85%). Each run makes 3 attempts
    # (2 retries): 3 + 3 + 3, and the 4th run's first attempt is refused.
    assert sent == failures_to_open(MIN_CALLS, BreakerSettings().failure_rate) == 9
    assert (health.circuit, health.circuit_calls) == ("open", 0)
    assert health.circuit_retry_in_s is not None and 0.0 <= health.circuit_retry_in_s <= 30.0
    errors = [stored.threads[t].error or "" for t in down]
    assert all("fake-claude" in e for e in errors)
    assert ["circuit_open" in e for e in errors] == [False] * 3 + [True] * 2
    assert tapped.stats.by_model["fake-claude-large"] - before == sent, "open: nothing sent"
    for thread_id in elsewhere:
        assert stored.threads[thread_id].status == "completed"
        picked = decision(thread_id)
        assert picked["model"] in ("fake-llama", "fake-mistral")
        assert "fake-claude excluded: circuit open" in picked["reasons"]  # type: ignore[operator]
