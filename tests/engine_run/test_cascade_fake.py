"""Start cheap when unsure, end to end: the real Gateway and OpenAI SDK over loopback HTTP
against the fake provider, which returns token log-probabilities when asked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from orchestratex.core.events import (
    CompletedEvent,
    Event,
    ImprovementEvent,
    ResponseEvent,
    SelectionEvent,
)
from orchestratex.core.orchestration import OrchestrationRequest, OrchestrationResult, Preferences
from orchestratex.engine import Orchestrator
from orchestratex.engine.cascade import CascadeSettings
from orchestratex.engine.estimates import QualityEstimate
from orchestratex.engine.selection import Selector
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.engine_run.helpers import assert_well_formed
from tests.engine_selection.stubs import FixedQuality

PROMPT = "Summarise the causes of the French Revolution."
JUDGES = ["fake-grok", "fake-qwen"]
QUALITY = {
    "fake-gpt": QualityEstimate(8.0, 0.4, 100),
    "fake-llama": QualityEstimate(7.9, 0.4, 100),  # too close to call: P(gpt better) 0.57
    **{k: QualityEstimate(3.0, 0.2, 100) for k in ("fake-claude", "fake-grok", "fake-qwen")},
    "fake-mistral": QualityEstimate(3.0, 0.2, 100),
}
REQUEST = OrchestrationRequest(
    prompt=PROMPT,
    threshold=8.0,
    max_rounds=2,
    judges=JUDGES,
    preferences=Preferences(quality_weight=1.0, cost_weight=0.0, latency_weight=0.0),
)


@asynccontextmanager
async def engine(
    judge_base: float, *, unsure: Sequence[str] = (), no_logprobs: Sequence[str] = ()
) -> AsyncIterator[tuple[Orchestrator, FakeProviderServer]]:
    async with run_fake_provider(FakeProviderOptions(judge_base=judge_base)) as server:
        catalog = fake_catalog(server.openai_base_url, unsure=unsure)
        for key in no_logprobs:
            catalog.models[key] = catalog.models[key].model_copy(update={"logprobs": False})
        gateway = Gateway(catalog, retry_base_delay_s=0.01, retry_max_delay_s=0.02)
        models = catalog.enabled()
        selector = Selector(models, catalog.prices, quality_model=FixedQuality(QUALITY))
        try:
            yield (
                Orchestrator(
                    gateway,
                    models,
                    catalog.prices,
                    health=gateway,
                    selector=selector,
                    cascade=CascadeSettings(band=0.1, min_confidence=0.5),
                ),
                server,
            )
        finally:
            await gateway.aclose()


async def _run(orch: Orchestrator) -> tuple[OrchestrationResult, list[Event]]:
    run = orch.start(REQUEST)
    result = await run.result()
    events = [e async for e in run.events()]
    assert_well_formed(events)
    return result, events


def _answer_calls(server: FakeProviderServer) -> list[dict[str, Any]]:
    """The bodies of the answering (not judging) calls, in order."""
    bodies = [r["body"] for r in server.requests]
    return [b for b in bodies if not any("rubric" in str(m).lower() for m in b["messages"])]


async def test_a_low_verdict_escalates_to_the_stronger_model() -> None:
    async with engine(judge_base=5.0) as (orch, server):
        result, events = await _run(orch)
    selection = next(e for e in events if isinstance(e, SelectionEvent))
    assert selection.decision.strategy == "cascade" and selection.decision.model == "fake-llama"
    assert selection.decision.reasons[0].startswith("started with the cheaper fake-llama")
    assert [(r.model, r.kind) for r in result.rounds] == [
        ("fake-llama", "initial"),
        ("fake-gpt", "escalation"),
    ]
    improvement = next(e for e in events if isinstance(e, ImprovementEvent))
    assert improvement.strategy == "escalate" and improvement.to_model == "fake-gpt"
    assert improvement.reason.startswith(
        "cascade: the judges scored the answer of fake-llama 5.00, under the threshold 8.0, "
        "token confidence 0.95"
    )
    calls = _answer_calls(server)
    assert [c["model"] for c in calls] == ["fake-llama-small", "fake-gpt-large"]
    assert calls[0]["logprobs"] is True and "logprobs" not in calls[1]
    assert all("logprobs" not in r["body"] for r in server.requests if r["body"] not in calls)
    first = next(e for e in events if isinstance(e, ResponseEvent))
    assert first.confidence is not None and first.confidence.tokens > 10
    assert result.rounds[0].confidence == first.confidence
    assert result.rounds[1].confidence is None


async def test_a_passing_confident_answer_stands() -> None:
    async with engine(judge_base=9.0) as (orch, _):
        result, events = await _run(orch)
    assert [r.model for r in result.rounds] == ["fake-llama"]
    assert result.stop_reason == "threshold" and result.score == 9.0
    assert not any(isinstance(e, ImprovementEvent) for e in events)
    assert result.stop_detail == (
        "cascade: the judges scored the answer of fake-llama 9.00, token confidence 0.95: the "
        "cheaper answer stands; score 9.00 reached the threshold 8.0"
    )
    completed = events[-1]
    assert isinstance(completed, CompletedEvent) and completed.result.stop_detail == (
        result.stop_detail
    )


async def test_a_passing_answer_the_model_itself_doubts_escalates() -> None:
    async with engine(judge_base=9.0, unsure=["fake-llama"]) as (orch, _):
        result, events = await _run(orch)
    assert [r.model for r in result.rounds] == ["fake-llama", "fake-gpt"]
    improvement = next(e for e in events if isinstance(e, ImprovementEvent))
    assert "but its own token confidence 0.22" in improvement.reason
    assert result.best_round in (1, 2)


async def test_without_logprobs_the_judges_verdict_alone_decides() -> None:
    async with engine(judge_base=9.0, unsure=["fake-llama"], no_logprobs=["fake-llama"]) as (
        orch,
        server,
    ):
        result, _ = await _run(orch)
    assert [r.model for r in result.rounds] == ["fake-llama"]  # the low log-probs never asked
    assert result.rounds[0].confidence is None
    assert "logprobs" not in _answer_calls(server)[0]
