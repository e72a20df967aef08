"""The admission gate: every call of a run (answer, judge, fallback) passes it first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from orchestratex.core.catalog import Price
from orchestratex.core.errors import BudgetExceededError, ModelNotAllowedError, ProviderTimeoutError
from orchestratex.core.events import ModelCallEvent
from orchestratex.core.orchestration import OrchestrationRequest, Preferences
from orchestratex.core.types import (
    ChatMessage,
    Completion,
    CompletionRequest,
    StreamPart,
    TextDelta,
    ToolSpec,
)
from orchestratex.engine import Orchestrator
from orchestratex.engine.admission import CallGate, GatedClient, input_tokens_bound
from orchestratex.engine.evaluation import CallRecord
from orchestratex.testing.scripted_client import ScriptedClient
from tests.engine_run.helpers import MODELS, PRICES
from tests.waiting import until

PRICE = Price(input_per_mtok=1_000_000.0, output_per_mtok=1_000_000.0)  # $1 a token


def _request(max_tokens: int = 100) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content="hi")], max_tokens=max_tokens
    )


class _Ledger:
    def __init__(self, left: float) -> None:
        self.left = left
        self.holds: dict[str, float] = {}
        self.spent = 0.0

    async def hold(self, call_id: str, wanted_usd: float) -> float:
        granted = max(0.0, min(wanted_usd, self.left - sum(self.holds.values())))
        self.holds[call_id] = granted
        return granted

    async def release(self, call_id: str, cost_usd: float) -> None:
        self.holds.pop(call_id, None)
        self.left -= cost_usd
        self.spent += cost_usd


async def test_a_call_is_shrunk_to_what_the_budget_pays_for() -> None:
    request = _request(max_tokens=1000)
    tokens_in = input_tokens_bound(request)
    gate = CallGate({"m": PRICE}, run_id="r", budget_usd=tokens_in + 50.0)
    ticket = await gate.admit("m", request)
    assert ticket.request.max_tokens == 50
    assert ticket.held_usd == pytest.approx(tokens_in + 50.0)
    with pytest.raises(BudgetExceededError):
        await gate.admit("m", request)  # the first call still holds everything
    await gate.settle(ticket, 0.0)
    again = await gate.admit("m", request)
    assert again.request.max_tokens == 50


async def test_models_outside_the_allowed_list_are_refused() -> None:
    gate = CallGate({"m": PRICE, "n": PRICE}, run_id="r", allowed=["m"])
    assert (await gate.admit("m", _request())).request.max_tokens == 100
    with pytest.raises(ModelNotAllowedError):
        await gate.admit("n", _request())


async def test_unknown_price_is_refused_only_when_money_is_limited() -> None:
    free = CallGate({"m": None}, run_id="r")
    assert (await free.admit("m", _request())).held_usd == 0.0
    limited = CallGate({"m": None}, run_id="r", budget_usd=1.0)
    with pytest.raises(BudgetExceededError, match="no known price"):
        await limited.admit("m", _request())


async def test_the_ledger_is_released_to_the_actual_cost() -> None:
    ledger = _Ledger(left=1.0)
    prices = {"alpha": Price(input_per_mtok=1.0, output_per_mtok=1.0)}
    client = GatedClient(ScriptedClient(), CallGate(prices, run_id="r", ledger=ledger))
    completion = await client.complete("alpha", _request())
    assert ledger.holds == {}
    assert ledger.spent == pytest.approx(completion.cost_usd)
    assert completion.cost_usd > 0


async def test_judge_count_zero_makes_one_call_and_no_score_error() -> None:
    client = ScriptedClient()
    orchestrator = Orchestrator(client, MODELS, PRICES)
    result = await orchestrator.run(
        OrchestrationRequest(prompt="Say hi", model="beta", max_rounds=1, judge_count=0)
    )
    assert result.status == "completed"
    assert result.error is None
    assert result.score is None
    assert [(c.model, c.purpose) for c in client.calls] == [("beta", "generate")]


async def test_named_judges_are_deduplicated_and_capped() -> None:
    client = ScriptedClient()
    orchestrator = Orchestrator(client, MODELS, PRICES)
    judges = ["alpha", "gamma", "alpha", "delta", "gamma"]
    await orchestrator.run(
        OrchestrationRequest(prompt="Say hi", model="beta", max_rounds=1, judges=judges)
    )
    judged = sorted(c.model for c in client.calls_for("judge"))
    assert judged == ["alpha", "delta", "gamma"]


async def test_a_failed_judge_is_replaced_by_another_never_the_answering_model() -> None:
    client = ScriptedClient(failures={"gamma": None})
    orchestrator = Orchestrator(client, MODELS, PRICES)
    run = orchestrator.start(
        OrchestrationRequest(prompt="Say hi", model="beta", max_rounds=1, judge_count=2)
    )
    result = await run.result()
    events = [e async for e in run.events()]
    judge_calls = [e for e in events if isinstance(e, ModelCallEvent) and e.purpose == "judge"]
    verdicts = result.rounds[0].verdicts
    scored = {v.judge for v in verdicts if v.score is not None}
    assert "beta" not in {e.model for e in judge_calls}
    assert "gamma" not in scored
    assert len(scored) == 2
    failed = [e.model for e in judge_calls if not e.success]
    assert failed and set(failed) == {"gamma"}


async def test_a_budgeted_run_never_spends_more_than_its_budget() -> None:
    client = ScriptedClient(price_per_mtok=10_000.0)  # about a cent per 1,000 tokens
    orchestrator = Orchestrator(
        client,
        MODELS,
        {m.key: Price(input_per_mtok=10_000.0, output_per_mtok=10_000.0) for m in MODELS},
    )
    budget = 0.5
    result = await orchestrator.run(
        OrchestrationRequest(
            prompt="Explain how a hash map works.",
            max_rounds=10,
            threshold=10.0,
            judges=["alpha", "gamma", "delta"],
            preferences=Preferences(budget_usd=budget),
        )
    )
    assert result.total_cost_usd <= budget + 1e-12


@pytest.mark.parametrize(
    "text",
    [
        "".join(chr(33 + (i * 7919) % 94) for i in range(3000)),  # scrambled ASCII symbols
        "".join(chr(0x4E00 + (i * 7919) % 20992) for i in range(1000)),  # rare CJK
        "".join(chr(0x1F300 + (i * 31) % 256) for i in range(1000)),  # emoji
        "The quick brown fox jumps over the lazy dog. " * 60,
    ],
)
def test_the_input_bound_is_never_below_a_real_tokenizers_count(text: str) -> None:
    """The hold's input bound must not under-count hostile text, or a budget could be passed."""
    from orchestratex.providers.replay_tokens import tokenizers

    tokens = tokenizers()
    request = CompletionRequest(messages=[ChatMessage(role="user", content=text)])
    bound = input_tokens_bound(request)
    assert bound >= tokens.gpt4_chat(request.messages)
    assert bound >= tokens.mixtral_chat(request.messages)


def test_tool_definitions_and_the_output_schema_count_as_input() -> None:
    plain = _request()
    description = "x" * 5000
    tools = [ToolSpec(name="lookup", description=description, parameters={"type": "object"})]
    with_tools = plain.model_copy(update={"tools": tools})
    schema = {"type": "object", "properties": {"answer": {"description": description}}}
    with_schema = plain.model_copy(update={"json_schema": schema})
    assert input_tokens_bound(with_tools) > input_tokens_bound(plain) + 5000
    assert input_tokens_bound(with_schema) > input_tokens_bound(plain) + 5000


class _Endless:
    """A model that streams ten words, then never finishes; its whole replies never come."""

    async def complete(self, model: str, request: CompletionRequest) -> Completion:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def stream(self, model: str, request: CompletionRequest) -> AsyncIterator[StreamPart]:
        for _ in range(10):
            yield TextDelta(text="word ")
        await asyncio.Event().wait()


async def test_a_stream_cut_short_is_counted_at_what_it_sent() -> None:
    """A reader that goes away (a client hanging up) leaves the provider's bill for what was
    generated; the ledger must count it, or hanging up would spend past a budget."""
    ledger = _Ledger(left=10_000.0)
    client = GatedClient(_Endless(), CallGate({"m": PRICE}, run_id="r", ledger=ledger))
    request = _request(max_tokens=1000)
    parts = client.stream("m", request)
    assert isinstance(parts, AsyncGenerator)
    seen = [await anext(parts) for _ in range(10)]
    assert "".join(p.text for p in seen if isinstance(p, TextDelta)) == "word " * 10
    await parts.aclose()
    # $1 a token: the input bound plus the 50 bytes streamed, a token a byte.
    assert ledger.spent == input_tokens_bound(request) + 50
    assert ledger.holds == {}


async def test_a_whole_reply_stopped_waiting_for_is_counted_at_its_hold() -> None:
    ledger = _Ledger(left=10_000.0)
    client = GatedClient(_Endless(), CallGate({"m": PRICE}, run_id="r", ledger=ledger))
    request = _request(max_tokens=1000)
    call = asyncio.create_task(client.complete("m", request))
    await until(lambda: bool(ledger.holds), what="the call admitted")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert ledger.spent == input_tokens_bound(request) + 1000


@pytest.mark.parametrize(
    ("price", "known"), [(PRICE, False), (Price(input_per_mtok=0.0, output_per_mtok=0.0), True)]
)
async def test_a_cut_call_of_a_free_model_has_a_known_cost_of_zero(
    price: Price, known: bool
) -> None:
    """A cut call of a priced model is an estimate; a free model's (a local Ollama) costs 0
    whatever was billed, so its record is not counted among the unknown costs."""
    client = GatedClient(_Endless(), CallGate({"m": price}, run_id="r"))
    parts = client.stream("m", _request(max_tokens=1000))
    assert isinstance(parts, AsyncGenerator)
    await anext(parts)
    cut = ProviderTimeoutError("no answer", provider="p", model="m")
    with pytest.raises(ProviderTimeoutError) as raised:
        await parts.athrow(cut)
    record = CallRecord.failure("m", raised.value, 1.0, output_seen=True)
    assert record.cost_known is known
    assert (record.cost_usd == 0.0) is known
