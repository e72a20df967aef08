"""Successful calls over real HTTP: both wire protocols, plain, streamed and JSON."""

from __future__ import annotations

import json

import pytest

from orchestratex.core.errors import UnknownModelError
from orchestratex.core.performance import HealthSource
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import Completion, TextDelta
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ask

MODELS = ["fake-gpt", "fake-claude", "fake-grok", "fake-qwen", "fake-llama", "fake-mistral"]


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_complete_returns_text_tokens_and_cost(
    make_gateway: GatewayFactory, model: str
) -> None:
    gateway = make_gateway()
    done = await gateway.complete(model, ask("What is a monad?"))
    assert done.model == model
    assert "fake provider" in done.text and 'Answer to: "What is a monad?"' in done.text
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    assert done.cost_known and done.cost_usd > 0
    price = gateway.catalog.price(model)
    assert price is not None
    expected = (
        done.usage.input_tokens * price.input_per_mtok
        + done.usage.output_tokens * price.output_per_mtok
    ) / 1e6
    assert done.cost_usd == pytest.approx(expected)
    assert done.latency_ms > 0
    assert done.attempts == 1


async def test_every_fake_model_answers(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    gateway = make_gateway()
    for model in MODELS:
        done = await gateway.complete(model, ask())
        assert done.model == model and done.cost_usd > 0
    seen = set(fake.stats.by_model)
    assert {gateway.catalog.get(m).model_id for m in MODELS} == seen


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_stream_yields_deltas_then_completion(
    make_gateway: GatewayFactory, model: str
) -> None:
    gateway = make_gateway()
    parts = [part async for part in gateway.stream(model, ask("stream please"))]
    deltas = [p for p in parts if isinstance(p, TextDelta)]
    assert len(deltas) >= 2
    final = parts[-1]
    assert isinstance(final, Completion)
    assert all(isinstance(p, TextDelta) for p in parts[:-1])
    assert final.text == "".join(d.text for d in deltas)
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0
    assert final.cost_known and final.cost_usd > 0
    assert final.model == model and final.attempts == 1


async def test_stream_consumer_may_stop_early(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    async for part in gateway.stream("fake-gpt", ask()):
        assert isinstance(part, TextDelta)
        break
    done = await gateway.complete("fake-gpt", ask())
    assert done.text
    assert gateway.health()["fake-gpt"].circuit == "closed"


@pytest.mark.parametrize(
    ("model", "prompt"),
    [
        # OpenAI wire: the fake judges because response_format was sent, not because of words.
        ("fake-gpt", "score the answer (revision 2)"),
        # Anthropic wire has no response_format; the fake spots the RUBRIC word instead.
        ("fake-claude", "RUBRIC: score the answer (revision 2)"),
    ],
)
async def test_json_schema_answer_is_a_json_object(
    make_gateway: GatewayFactory, model: str, prompt: str
) -> None:
    gateway = make_gateway()
    schema = {"title": "Verdict", "type": "object", "properties": {"overall": {"type": "number"}}}
    request = ask(prompt, json_schema=schema)
    done = await gateway.complete(model, request)
    data = json.loads(done.text)
    assert isinstance(data, dict)
    assert data["critique"].startswith("[fake provider critique]")
    assert data["overall"] == pytest.approx(5.0 + 1.5 * 2)


async def test_echo_reaches_the_model_verbatim(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    done = await gateway.complete("fake-claude", ask('ECHO: caf\u00e9 \u2014 50% "quoted"'))
    assert 'caf\u00e9 \u2014 50% "quoted"' in done.text


async def test_health_reports_calls_and_latency(make_gateway: GatewayFactory) -> None:
    gateway: Gateway = make_gateway()
    for _ in range(3):
        await gateway.complete("fake-qwen", ask())
    health = gateway.health()
    assert set(health) == set(MODELS)
    qwen = health["fake-qwen"]
    assert qwen.recent_calls == 3 and qwen.recent_success_rate == 1.0
    assert qwen.latency_p50_ms is not None and qwen.latency_p50_ms > 0
    assert qwen.circuit == "closed" and qwen.configured and qwen.score == 1.0
    assert health["fake-llama"].recent_calls == 0


async def test_gateway_meets_the_engine_protocols(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway()
    client: ModelClient = gateway
    source: HealthSource = gateway
    assert isinstance(client, ModelClient)
    assert set(source.health()) == set(MODELS)
    with pytest.raises(UnknownModelError, match="fake-gpt"):
        await gateway.complete("no-such-model", ask())
