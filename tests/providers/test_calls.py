"""Calls over real HTTP: both wire protocols, plain, streamed, JSON, options and tools."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestratex.core.errors import BadRequestError, UnknownModelError
from orchestratex.core.performance import HealthSource
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import (
    ChatMessage,
    Completion,
    ResponseFormat,
    TextDelta,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
)
from orchestratex.engine.rubric import judge_request
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


WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"],
    },
)


async def test_openai_wire_carries_sampling_options_and_stop(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    gateway = make_gateway()
    request = ask(temperature=0.3, top_p=0.9, seed=42, stop=["END"], frequency_penalty=0.5)
    await gateway.complete("fake-gpt", request)
    body = fake.last_body()
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["seed"] == 42
    assert body["stop"] == ["END"] and body["frequency_penalty"] == 0.5
    assert "presence_penalty" not in body and "tools" not in body


@pytest.mark.parametrize("option", [{"temperature": 0.3}, {"top_p": 0.5}, {"seed": 1}])
async def test_anthropic_wire_carries_stop_and_refuses_sampling_options(
    make_gateway: GatewayFactory, fake: FakeProviderServer, option: dict[str, Any]
) -> None:
    gateway = make_gateway()
    await gateway.complete("fake-claude", ask(stop=["END"]))
    assert fake.last_body()["stop_sequences"] == ["END"]
    calls = fake.stats.requests_total
    [name] = option
    with pytest.raises(BadRequestError, match=f"has no {name}"):
        await gateway.complete("fake-claude", ask(**option))
    assert fake.stats.requests_total == calls


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_judge_call_keeps_only_the_sampling_options_its_wire_carries(
    make_gateway: GatewayFactory, fake: FakeProviderServer, stream: bool
) -> None:
    """The engine asks judges for temperature 0; an Anthropic judge is called without it (its
    Messages API has none) instead of being refused, an OpenAI-compatible one gets it."""
    gateway = make_gateway()
    judge = judge_request("What is 2 + 2?", "4")
    assert judge.temperature == 0.0
    for model in ("fake-claude", "fake-gpt"):
        if stream:
            parts = [part async for part in gateway.stream(model, judge)]
            assert isinstance(parts[-1], Completion)
        else:
            await gateway.complete(model, judge)
        body = fake.last_body()
        assert ("temperature" in body) is (model == "fake-gpt"), (model, body)
    generation = ask(temperature=0.0)
    with pytest.raises(BadRequestError, match="has no temperature"):
        await gateway.complete("fake-claude", generation)


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_json_object_format_gets_a_json_answer(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    gateway = make_gateway()
    done = await gateway.complete(
        model, ask("List three colours", response_format=ResponseFormat(type="json_object"))
    )
    assert json.loads(done.text)["fake_provider"] == "test tool, not a model"
    body = fake.last_body()
    if model == "fake-gpt":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert "Answer with one JSON object only" in body["system"]


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_json_schema_format_reaches_the_upstream_and_is_met(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    gateway = make_gateway()
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    fmt = ResponseFormat(type="json_schema", name="person", json_schema=schema, strict=True)
    done = await gateway.complete(model, ask("Who?", response_format=fmt))
    data = json.loads(done.text)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)
    body = fake.last_body()
    if model == "fake-gpt":
        sent = body["response_format"]
        assert sent["type"] == "json_schema"
        assert sent["json_schema"] == {"name": "person", "schema": schema, "strict": True}


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_tool_call_round_trip(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    gateway = make_gateway()
    choice = ToolChoice(mode="function", name="get_weather")
    done = await gateway.complete(
        model, ask("Weather in Oslo?", tools=[WEATHER], tool_choice=choice)
    )
    assert done.finish_reason == "tool_calls" and done.text == ""
    [call] = done.tool_calls
    assert call.name == "get_weather" and call.id.startswith("call_fake_")
    assert json.loads(call.arguments)["days"] == 1
    body = fake.last_body()
    if model == "fake-gpt":
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    else:
        assert body["tools"][0]["input_schema"] == WEATHER.parameters
        assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    follow_up = ask("Weather in Oslo?", tools=[WEATHER]).messages + [
        ChatMessage(role="assistant", content="", tool_calls=(call,)),
        ChatMessage(role="tool", content="sunny, 21 C", tool_call_id=call.id),
    ]
    answer = await gateway.complete(
        model, ask(tools=[WEATHER]).model_copy(update={"messages": follow_up})
    )
    assert answer.tool_calls == [] and 'The tool returned: "sunny, 21 C"' in answer.text
    sent = fake.last_body()["messages"]
    if model == "fake-gpt":
        assert sent[-2]["tool_calls"][0]["id"] == call.id
        assert sent[-1] == {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}
    else:
        assert sent[-2]["content"][0] == {
            "type": "tool_use",
            "id": call.id,
            "name": "get_weather",
            "input": {"city": "[fake provider] placeholder", "days": 1},
        }
        assert sent[-1]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_streamed_tool_call_arrives_in_deltas(
    make_gateway: GatewayFactory, model: str
) -> None:
    gateway = make_gateway()
    parts = [p async for p in gateway.stream(model, ask("Weather?", tools=[WEATHER]))]
    deltas = [p for p in parts if isinstance(p, ToolCallDelta)]
    final = parts[-1]
    assert isinstance(final, Completion) and len(deltas) >= 2
    assert deltas[0].id == final.tool_calls[0].id and deltas[0].name == "get_weather"
    assert "".join(d.arguments for d in deltas) == final.tool_calls[0].arguments
    assert final.finish_reason == "tool_calls"
