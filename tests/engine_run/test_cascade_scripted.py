"""Start cheap when unsure, against the scripted client: what stops an escalation."""

from __future__ import annotations

from orchestratex.core.catalog import Price
from orchestratex.core.events import ImprovementEvent
from orchestratex.core.orchestration import OrchestrationRequest, Preferences
from orchestratex.core.performance import ModelHealth
from orchestratex.engine import Orchestrator
from orchestratex.engine.estimates import QualityEstimate
from orchestratex.engine.selection import Selector
from orchestratex.testing.scripted_client import ScriptedClient, verdict
from tests.engine_run.helpers import MODELS
from tests.engine_selection.stubs import FixedQuality

PRICES: dict[str, Price | None] = {
    "alpha": Price(input_per_mtok=10.0, output_per_mtok=10.0),
    "beta": Price(input_per_mtok=2.0, output_per_mtok=2.0),
    "gamma": Price(input_per_mtok=1.0, output_per_mtok=1.0),
    "delta": Price(input_per_mtok=1.0, output_per_mtok=1.0),
}
QUALITY = FixedQuality(
    {
        "alpha": QualityEstimate(8.0, 0.4, 100),
        "gamma": QualityEstimate(7.9, 0.4, 100),  # too close to call against alpha
        "beta": QualityEstimate(3.0, 0.2, 100),
        "delta": QualityEstimate(3.0, 0.2, 100),
    }
)
REQUEST = OrchestrationRequest(
    prompt="Explain how a hash map works.",
    max_rounds=2,
    judges=["beta", "delta"],
    preferences=Preferences(quality_weight=1.0, cost_weight=0.0, latency_weight=0.0),
)


class OpensAfterJudging:
    """Live health: alpha's circuit opens once the first answer has been judged."""

    def __init__(self, client: ScriptedClient) -> None:
        self.client = client

    def health(self) -> dict[str, ModelHealth]:
        if not self.client.calls_for("judge"):
            return {}
        return {"alpha": ModelHealth(model="alpha", provider="scripted", circuit="open")}


def orchestrator(client: ScriptedClient, **kw: object) -> Orchestrator:
    selector = Selector(MODELS, PRICES, quality_model=QUALITY)
    return Orchestrator(client, MODELS, PRICES, selector=selector, **kw)  # type: ignore[arg-type]


async def test_a_low_verdict_escalates_through_the_gate() -> None:
    client = ScriptedClient({"*": "an answer"}, judges={"*": verdict(5.0)})
    result = await orchestrator(client).run(REQUEST)
    assert result.selection is not None and result.selection.strategy == "cascade"
    assert [(r.model, r.kind) for r in result.rounds] == [
        ("gamma", "initial"),
        ("alpha", "escalation"),
    ]
    # no model here is marked `logprobs`: none was asked for them
    assert not any(c.request.logprobs for c in client.calls)


async def test_an_escalation_target_gone_unhealthy_is_not_tried() -> None:
    client = ScriptedClient({"*": "an answer"}, judges={"*": verdict(5.0)})
    run = orchestrator(client, health=OpensAfterJudging(client)).start(REQUEST)
    result = await run.result()
    events = [e async for e in run.events()]
    assert [(r.model, r.kind) for r in result.rounds] == [
        ("gamma", "initial"),
        ("gamma", "revision"),
    ]
    improvement = next(e for e in events if isinstance(e, ImprovementEvent))
    assert improvement.strategy == "revise"
    assert improvement.reason.startswith(
        "cascade: the judges scored the answer of gamma 5.00, under the threshold 8.0, but "
        "alpha is unhealthy (open): no escalation; score 5.00 is under the threshold"
    )
    assert not [c for c in client.calls if c.model == "alpha"]


async def test_a_budget_that_cannot_pay_the_stronger_model_keeps_the_cheaper_one() -> None:
    # The run's budget admits alpha at selection (~$0.012 expected) but not the escalation: its
    # input alone (the long first answer quoted back, at $10/Mtok) is over what is left, while
    # the calls actually made cost next to nothing (so the budget never stops the run itself).
    client = ScriptedClient(
        {"*": "an answer " * 1000}, judges={"*": verdict(5.0)}, price_per_mtok=0.001
    )
    preferences = REQUEST.preferences.model_copy(update={"budget_usd": 0.015})
    request = REQUEST.model_copy(update={"preferences": preferences, "max_tokens": 200})
    run = orchestrator(client).start(request)
    result = await run.result()
    events = [e async for e in run.events()]
    assert result.selection is not None and result.selection.strategy == "cascade"
    assert [(r.model, r.kind) for r in result.rounds] == [
        ("gamma", "initial"),
        ("gamma", "revision"),
    ]
    improvement = next(e for e in events if isinstance(e, ImprovementEvent))
    assert improvement.strategy == "revise"
    assert "but alpha is not allowed or not affordable within the budget" in improvement.reason
    assert not [c for c in client.calls if c.model == "alpha"]
