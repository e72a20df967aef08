"""A run cancelled while it passes a streamed piece on (its event sink busy) still settles the
call in flight at once and records its usage at the figure the ledger counted: the real Gateway
over loopback HTTP against the fake provider."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable

import pytest

from orchestratex.core.events import Event, ModelCallEvent, ResponseChunkEvent
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.engine import Orchestrator
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.engine_run.test_admission import _Ledger
from tests.waiting import until


async def test_a_run_cancelled_while_passing_a_chunk_on_records_the_estimate(
    fake_provider: FakeProviderServer,
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    gateway = Gateway(catalog)
    chunk_seen = asyncio.Event()
    go_on = asyncio.Event()

    async def slow(event: Event) -> None:
        chunk_seen.set()
        await go_on.wait()

    def sink(event: Event) -> asyncio.Future[None] | None:
        """Busy with the first chunk until the test lets it go (after cancelling the run)."""
        if isinstance(event, ResponseChunkEvent) and not chunk_seen.is_set():
            return asyncio.ensure_future(slow(event))
        return None

    ledger = _Ledger(left=100.0)
    orchestrator = Orchestrator(gateway, catalog.enabled(), catalog.prices, sink=sink)
    try:
        request = OrchestrationRequest(prompt="Write a long essay.", model="fake-gpt")
        run = orchestrator.start(request, ledger=ledger)
        await until(chunk_seen.is_set, what="the first chunk on its way to the sink")
        run.cancel()  # lands in the sink's await: the stream itself is paused at that chunk
        go_on.set()
        result = await run.result()
    finally:
        go_on.set()
        await gateway.aclose()
    calls = [e for e in run.emitted() if isinstance(e, ModelCallEvent)]
    assert result.status == "cancelled"
    assert len(calls) == 1, calls
    (call,) = calls
    assert not call.success and not call.cost_known
    assert call.cost_usd > 0
    assert call.cost_usd == pytest.approx(ledger.spent), "the record and the ledger agree"
    assert result.total_cost_usd == pytest.approx(ledger.spent)
    assert ledger.holds == {}


async def test_a_run_suspended_mid_call_records_the_call_before_its_events_close(
    fake_provider: FakeProviderServer,
) -> None:
    """A graceful stop suspends runs (no terminal event); the call in flight was sent and may
    be billed, so its usage is recorded, estimated, before the run's event stream closes."""
    fake_provider.options.latency_ms = 60_000.0
    catalog = fake_catalog(fake_provider.openai_base_url)
    gateway = Gateway(catalog)
    orchestrator = Orchestrator(gateway, catalog.enabled(), catalog.prices)
    try:
        run = orchestrator.start(OrchestrationRequest(prompt="Hello there.", model="fake-gpt"))
        await until(lambda: fake_provider.stats.in_flight == 1, what="the upstream call open")
        run.suspend()
        with pytest.raises(asyncio.CancelledError):
            await run.result()
    finally:
        await gateway.aclose()
    calls = [e for e in run.emitted() if isinstance(e, ModelCallEvent)]
    assert [e.type for e in run.emitted()][-1] == "model_call", "no terminal event"
    assert len(calls) == 1, calls
    assert not calls[0].success and not calls[0].cost_known
    assert calls[0].cost_usd > 0, "unbudgeted, the prompt the provider read is still estimated"


@pytest.mark.parametrize("budgeted", [True, False])
async def test_a_budgeted_call_is_not_retried_after_a_timeout(
    fake_provider: FakeProviderServer, budgeted: bool
) -> None:
    """A timed-out attempt was sent and may be billed, and a budget's hold pays for one
    attempt: so a budgeted call ends at its first timeout (counted at the estimate), where an
    unbudgeted one is retried as the provider's `max_retries` says."""
    fake_provider.options.faults = ["timeout"]
    fake_provider.options.fail_rate = 1.0
    fake_provider.options.hang_s = 5.0
    catalog = fake_catalog(
        fake_provider.openai_base_url, models=["fake-gpt"], timeout_s=0.2, max_retries=2
    )
    gateway = Gateway(catalog)
    ledger = _Ledger(left=100.0) if budgeted else None
    orchestrator = Orchestrator(gateway, catalog.enabled(), catalog.prices)
    try:
        request = OrchestrationRequest(prompt="Hello there.", model="fake-gpt", max_rounds=1)
        run = orchestrator.start(request, ledger=ledger)
        result = await run.result()
    finally:
        await gateway.aclose()
    calls = [e for e in run.emitted() if isinstance(e, ModelCallEvent)]
    assert result.status == "failed"
    assert fake_provider.stats.by_model == {"fake-gpt-large": 1 if budgeted else 3}
    assert calls and not calls[0].success and not calls[0].cost_known
    if ledger is not None:
        assert calls[0].cost_usd == pytest.approx(ledger.spent) and ledger.spent > 0
        assert ledger.holds == {}


async def _hold_rpm_slot(gateway: Gateway) -> AsyncGenerator[None, None]:
    """Spend fake-claude's one request of the window: the next call waits for the window."""
    done = await gateway.complete("fake-claude", CompletionRequest(messages=[_HI], max_tokens=8))
    assert done.text
    yield


async def _hold_open_call(gateway: Gateway) -> AsyncGenerator[None, None]:
    """Keep a fake-claude stream open: the provider's one `max_concurrent` place is taken."""
    parts = gateway.stream("fake-claude", CompletionRequest(messages=[_HI], max_tokens=8))
    assert isinstance(parts, AsyncGenerator)
    try:
        await anext(parts)
        yield
    finally:
        await parts.aclose()


_HI = ChatMessage(role="user", content="Hello there.")
_QUEUES: dict[str, tuple[dict[str, int], Callable[[Gateway], AsyncGenerator[None, None]]]] = {
    "rate limiter": ({"requests_per_minute": 1}, _hold_rpm_slot),
    "max_concurrent": ({"max_concurrent": 1}, _hold_open_call),
}


@pytest.mark.parametrize("queue", sorted(_QUEUES))
async def test_a_judge_cancelled_while_it_waits_for_its_provider_records_nothing(
    fake_provider: FakeProviderServer, queue: str
) -> None:
    """A call admitted but still waiting in the gateway (a rate-limit slot, a `max_concurrent`
    place) never reached the provider: cancelling its run releases its hold at nothing, and
    it leaves no usage record (so no failed call counts against the model either)."""
    limits, occupy = _QUEUES[queue]
    catalog = fake_catalog(
        fake_provider.openai_base_url,
        models=["fake-gpt", "fake-claude"],
        provider_overrides={"fake-anthropic": limits},
        timeout_s=60.0,
        max_retries=0,
    )
    gateway = Gateway(catalog, rate_window_s=30.0)  # a wait the call's timeout allows
    ledger = _Ledger(left=100.0)
    orchestrator = Orchestrator(gateway, catalog.enabled(), catalog.prices)
    request = OrchestrationRequest(
        prompt="Explain hash maps.", model="fake-gpt", judges=["fake-claude"], max_rounds=1
    )
    try:
        async with contextlib.aclosing(occupy(gateway)) as occupied:
            await anext(occupied)
            run = orchestrator.start(request, ledger=ledger)

            def judge_waits() -> bool:
                answered = any(isinstance(e, ModelCallEvent) for e in run.emitted())
                return answered and bool(ledger.holds)  # the answer's hold was released

            await until(judge_waits, what="the judge admitted and waiting for its provider")
            run.cancel()
            result = await run.result()
    finally:
        await gateway.aclose()
    calls = [e for e in run.emitted() if isinstance(e, ModelCallEvent)]
    assert result.status == "cancelled"
    assert fake_provider.stats.by_model.get("fake-claude-large") == 1, "only the occupying call"
    assert [(c.model, c.purpose, c.success) for c in calls] == [("fake-gpt", "generate", True)]
    assert ledger.holds == {}
    assert ledger.spent == pytest.approx(calls[0].cost_usd), "the judge cost nothing"
    assert result.total_cost_usd == pytest.approx(calls[0].cost_usd)
