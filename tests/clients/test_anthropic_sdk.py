"""The official `anthropic` SDK (sync, async, streaming, tools, errors) against /v1/messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import httpx
import pytest

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running

WEATHER: Any = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def client(service: Running) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=service.base_url, api_key=service.key, max_retries=0)


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_named_model_multi_turn_with_system_is_one_call(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model=model,
            max_tokens=300,
            system="Answer briefly.",
            stop_sequences=["###"],
            messages=[
                {"role": "user", "content": "What is a monad?"},
                {"role": "assistant", "content": "A design pattern."},
                {"role": "user", "content": [{"type": "text", "text": "Say more"}]},
            ],
        )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == model and message.stop_reason == "end_turn"
    [block] = message.content
    assert block.type == "text" and 'Answer to: "Say more"' in block.text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert fake.stats.requests_total == 1
    body = fake.last_body()
    if model == "fake-gpt":
        assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
        assert body["stop"] == ["###"] and body["max_tokens"] == 300
    else:
        assert body["system"] == "Answer briefly."
        assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
        assert body["stop_sequences"] == ["###"]
    extra: dict[str, Any] = message.model_extra or {}
    assert extra["orchestratex"]["judged"] is False


async def test_streaming_sends_the_messages_events(
    service: Running, fake: FakeProviderServer
) -> None:
    async with (
        client(service) as sdk,
        sdk.messages.stream(
            model="fake-claude",
            max_tokens=200,
            messages=[{"role": "user", "content": "Stream a reply"}],
        ) as stream,
    ):
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_start" in kinds and "content_block_stop" in kinds
    assert kinds.count("text") >= 2, "the text arrives in several deltas"
    assert "message_delta" in kinds
    assert "fake provider" in final.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens > 0 and final.stop_reason == "end_turn"
    assert fake.stats.requests_total == 1


async def test_orchestrating_models_answer_too(service: Running, fake: FakeProviderServer) -> None:
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model="orchestratex/refine",
            max_tokens=300,
            messages=[{"role": "user", "content": "Explain recursion"}],
        )
    extra: dict[str, Any] = message.model_extra or {}
    assert extra["orchestratex"]["rounds"] == 3 and extra["orchestratex"]["judged"] is True
    assert "(revision 2)" in message.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_use_round_trip(
    service: Running, fake: FakeProviderServer, stream: bool
) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Rome?"}]
    first: Any
    async with client(service) as sdk:
        if stream:
            async with sdk.messages.stream(
                model="fake-claude", max_tokens=200, messages=messages, tools=[WEATHER]
            ) as events:
                first = await events.get_final_message()
        else:
            first = await sdk.messages.create(
                model="fake-claude",
                max_tokens=200,
                messages=messages,
                tools=[WEATHER],
                tool_choice={"type": "tool", "name": "get_weather"},
            )
        assert first.stop_reason == "tool_use"
        [use] = [b for b in first.content if b.type == "tool_use"]
        assert use.name == "get_weather" and use.input == {"city": "[fake provider] placeholder"}
        sent = fake.last_body()
        assert sent["tools"][0]["input_schema"] == WEATHER["input_schema"]
        messages += [
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
            },
        ]
        second = await sdk.messages.create(
            model="fake-claude", max_tokens=200, messages=messages, tools=[WEATHER]
        )
    assert 'The tool returned: "sunny"' in second.content[0].text  # type: ignore[union-attr]
    upstream = fake.last_body()["messages"]
    assert upstream[1]["content"][-1]["type"] == "tool_use"
    assert upstream[2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": use.id,
        "content": "sunny",
    }


async def test_output_format_reaches_an_openai_model_as_a_json_schema(
    service: Running, fake: FakeProviderServer
) -> None:
    schema: Any = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model="fake-gpt",
            max_tokens=100,
            messages=[{"role": "user", "content": "A number"}],
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )
    block = message.content[0]
    assert block.type == "text" and json.loads(block.text) == {"n": 1}
    assert fake.last_body()["response_format"]["json_schema"]["schema"] == schema


async def test_sync_client_in_a_thread(service: Running, fake: FakeProviderServer) -> None:
    def call() -> str:
        with anthropic.Anthropic(
            base_url=service.base_url, api_key=service.key, max_retries=0
        ) as sdk:
            message = sdk.messages.create(
                model="fake-llama",
                max_tokens=100,
                messages=[{"role": "user", "content": "ECHO: from a sync client"}],
            )
        block = message.content[0]
        return block.text if block.type == "text" else ""

    assert "from a sync client" in await asyncio.to_thread(call)
    assert fake.stats.requests_total == 1


async def test_errors_have_the_anthropic_shape(service: Running, fake: FakeProviderServer) -> None:
    hi: Any = [{"role": "user", "content": "hi"}]
    async with client(service) as sdk:
        with pytest.raises(anthropic.NotFoundError) as missing:
            await sdk.messages.create(model="no-such-model", max_tokens=10, messages=hi)
        body: Any = missing.value.body
        assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
        assert set(body) == {"type", "error"} and body["error"]["message"]
        with pytest.raises(anthropic.BadRequestError) as bad:
            await sdk.messages.create(model="fake-gpt", max_tokens=0, messages=hi)
        assert "max_tokens" in str(bad.value)
        with pytest.raises(anthropic.BadRequestError, match="top_k"):
            await sdk.messages.create(
                model="fake-gpt", max_tokens=10, messages=hi, extra_body={"top_k": 5}
            )
        with pytest.raises(anthropic.BadRequestError, match="tools"):
            await sdk.messages.create(
                model="orchestratex/auto", max_tokens=10, messages=hi, tools=[WEATHER]
            )
    async with anthropic.AsyncAnthropic(
        base_url=service.base_url, api_key="not-a-key", max_retries=0
    ) as stranger:
        with pytest.raises(anthropic.AuthenticationError) as denied:
            await stranger.messages.create(model="fake-gpt", max_tokens=10, messages=hi)
        assert isinstance(denied.value.body, dict)
        assert denied.value.body["error"]["type"] == "authentication_error"
    # Other clients (curl, older SDKs) send x-api-key; a refusal then names that header.
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        refused = await http.post(
            "/v1/messages",
            headers={"x-api-key": "not-a-key"},
            json={"model": "fake-gpt", "max_tokens": 10, "messages": hi},
        )
        unset = await http.post(
            "/v1/messages",
            headers={"x-api-key": service.key},
            json={"model": "fake-gpt", "max_tokens": 10, "messages": hi, "stream": None},
        )
    assert refused.status_code == 401
    assert "x-api-key" in refused.json()["error"]["message"]
    assert unset.status_code == 200 and unset.json()["type"] == "message"  # null: not streamed
    assert fake.stats.requests_total == 1  # that one; nothing refused reached the upstream


async def test_a_string_turn_longer_than_1000_characters_is_answered(
    service: Running, fake: FakeProviderServer
) -> None:
    """The 1000 limit is on a turn's blocks; a string turn is bounded by the body size only."""
    text = "ECHO: " + "long " * 2000
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model="fake-gpt", max_tokens=100, messages=[{"role": "user", "content": text}]
        )
    assert message.content[0].type == "text"
    assert fake.last_body()["messages"][-1]["content"] == text


@pytest.mark.parametrize("model", ["fake-claude", "fake-gpt"])
async def test_an_assistant_prefill_reaches_a_named_model_as_the_last_turn(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model=model,
            max_tokens=200,
            messages=[
                {"role": "user", "content": "List three primes as JSON."},
                {"role": "assistant", "content": '{"primes": ['},
            ],
        )
    assert message.stop_reason == "end_turn" and message.content
    assert fake.stats.requests_total == 1
    turns = fake.last_body()["messages"]
    assert turns[-1] == {"role": "assistant", "content": '{"primes": ['}
    assert [t["role"] for t in turns] == ["user", "assistant"]


async def test_an_orchestrating_model_refuses_a_prefill_before_any_call(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await sdk.messages.create(
                model="orchestratex/auto",
                max_tokens=200,
                messages=[
                    {"role": "user", "content": "List three primes."},
                    {"role": "assistant", "content": "2, 3,"},
                ],
            )
    assert "prefill" in caught.value.message and "named catalog model" in caught.value.message
    assert fake.stats.requests_total == 0


async def test_a_length_over_the_models_limit_asks_for_the_limit(
    service: Running, fake: FakeProviderServer
) -> None:
    headers = {"x-api-key": service.key, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as http:
        # LiteLLM's anthropic route sends 128,000 when the caller gives no length (the SDK
        # itself refuses that much without streaming, so the body is posted as LiteLLM does).
        for model, sent in (("fake-claude", 8192), ("fake-gpt", 128_000)):
            reply = await http.post(
                "/v1/messages",
                json={
                    "model": model,
                    "max_tokens": 128_000,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
            )
            assert reply.status_code == 200, reply.text
            # fake-claude's catalog limit; fake-gpt's is not known: sent as asked.
            assert fake.last_body()["max_tokens"] == sent
        too_many = {
            "model": "fake-claude",
            "max_tokens": 200_001,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        refused = await http.post("/v1/messages", json=too_many)
    assert refused.status_code == 400 and "max_tokens" in refused.json()["error"]["message"]
