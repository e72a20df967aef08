"""The official `openai` SDK (sync, async, streaming, tools, errors) against a running service."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}},
            "required": ["city"],
        },
    },
}
PERSON: Any = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def client(service: Running) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{service.base_url}/v1", api_key=service.key, max_retries=0)


async def streamed_text(service: Running, **create: Any) -> str:
    """The text of a streamed chat completion, its chunks joined."""
    async with client(service) as sdk:
        stream = await sdk.chat.completions.create(stream=True, **create)
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def extension(completion: Any) -> dict[str, Any]:
    extra: dict[str, Any] = completion.model_extra or {}
    return dict(extra["orchestratex"])


async def test_named_model_is_one_upstream_call_with_every_option(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        completion = await sdk.chat.completions.create(
            model="fake-gpt",
            messages=[
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": "Name a colour"},
            ],
            temperature=0.4,
            top_p=0.8,
            seed=7,
            stop=["\n\n"],
            max_completion_tokens=300,
            presence_penalty=0.1,
            frequency_penalty=0.2,
        )
    assert fake.stats.requests_total == 1, "passthrough makes exactly one upstream call"
    body = fake.last_body()
    assert (body["temperature"], body["top_p"], body["seed"]) == (0.4, 0.8, 7)
    assert body["stop"] == ["\n\n"]
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.1, 0.2)
    assert body["max_tokens"] == 300
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a colour"},
    ]
    ext = extension(completion)
    assert ext["judged"] is False and ext["judge_cost_usd"] == 0.0 and ext["score"] is None
    assert ext["replay"] is False and completion.system_fingerprint is None
    assert "fake provider" in (completion.choices[0].message.content or "")


async def test_without_a_length_a_named_model_is_asked_for_what_it_can_give(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        for model, sent in (("fake-claude", 8192), ("fake-gpt", 4096), ("orchestratex/auto", 1024)):
            await sdk.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Write a long essay"}]
            )
            # The model's catalog limit; else 4096; orchestrations: the documented 1024.
            answers = [r["body"] for r in fake.requests if "max_tokens" in r["body"]]
            assert answers[0]["max_tokens"] == sent, model
            fake.reset_stats()


async def test_a_named_model_takes_any_conversation_its_api_takes(
    service: Running, fake: FakeProviderServer
) -> None:
    conversations: list[Any] = [
        [{"role": "system", "content": "Greet the user."}],  # a LangChain system-only prompt
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! How"}],
        [{"role": "user", "content": ""}],
    ]
    async with client(service) as sdk:
        for messages in conversations:
            reply = await sdk.chat.completions.create(model="fake-gpt", messages=messages)
            assert reply.choices[0].message.content
            assert fake.last_body()["messages"] == messages
        with pytest.raises(openai.BadRequestError, match="must have the role 'user'"):
            await sdk.chat.completions.create(model="orchestratex/auto", messages=conversations[0])


async def test_streamed_named_model_is_one_call_too(
    service: Running, fake: FakeProviderServer
) -> None:
    text = await streamed_text(
        service,
        model="fake-claude",
        messages=[{"role": "user", "content": "Stream please"}],
        stream_options={"include_usage": True},
    )
    assert "fake provider" in text
    assert fake.stats.requests_total == 1
    assert fake.stats.by_path == {"/v1/messages": 1}


@pytest.mark.parametrize("settings_options", [{"passthrough_judge_rate": 1.0}])
async def test_a_sampled_passthrough_is_judged_and_its_cost_reported(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        completion = await sdk.chat.completions.create(
            model="fake-gpt", messages=[{"role": "user", "content": "Judge me"}]
        )
    assert fake.stats.requests_total == 2, "the answer plus one judge call"
    ext = extension(completion)
    assert ext["judged"] is True and ext["score"] is not None
    assert 0 < ext["judge_cost_usd"] < ext["cost_usd"]


async def test_sync_client_in_a_thread(service: Running, fake: FakeProviderServer) -> None:
    """The sync SDK; the service runs on the test's loop, so the call runs in a thread."""

    def call() -> str:
        with openai.OpenAI(
            base_url=f"{service.base_url}/v1", api_key=service.key, max_retries=0
        ) as sdk:
            completion = sdk.chat.completions.create(
                model="fake-qwen", messages=[{"role": "user", "content": "ECHO: sync works"}]
            )
        return completion.choices[0].message.content or ""

    assert "sync works" in await asyncio.to_thread(call)
    assert fake.last_body()["model"] == "fake-qwen-medium"


async def test_tool_call_and_tool_result_round_trip(
    service: Running, fake: FakeProviderServer
) -> None:
    messages: list[Any] = [{"role": "user", "content": "Weather in Oslo?"}]
    async with client(service) as sdk:
        first = await sdk.chat.completions.create(
            model="fake-gpt", messages=messages, tools=[WEATHER], tool_choice="required"
        )
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        [call] = choice.message.tool_calls or []
        assert call.type == "function" and call.function.name == "get_weather"
        assert json.loads(call.function.arguments)["unit"] == "C"
        sent = fake.last_body()
        assert sent["tools"] == [WEATHER] and sent["tool_choice"] == "required"

        messages += [
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "12 C and raining"},
        ]
        second = await sdk.chat.completions.create(
            model="fake-gpt", messages=messages, tools=[WEATHER]
        )
    assert second.choices[0].finish_reason == "stop"
    assert 'The tool returned: "12 C and raining"' in (second.choices[0].message.content or "")
    upstream = fake.last_body()["messages"]
    assert upstream[1]["tool_calls"][0]["id"] == call.id
    assert upstream[2] == {"role": "tool", "tool_call_id": call.id, "content": "12 C and raining"}
    assert fake.stats.requests_total == 2


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_streamed_tool_call_deltas_assemble(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    async with client(service) as sdk:
        stream = await sdk.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            stream=True,
        )
        ids, names, arguments, finish = [], [], "", None
        async for chunk in stream:
            for choice in chunk.choices:
                for piece in choice.delta.tool_calls or []:
                    ids += [piece.id] if piece.id else []
                    names += [piece.function.name] if piece.function and piece.function.name else []
                    arguments += (piece.function.arguments or "") if piece.function else ""
                finish = choice.finish_reason or finish
    assert len(ids) == 1 and ids[0].startswith("call_fake_") and names == ["get_weather"]
    assert json.loads(arguments) == {"city": "[fake provider] placeholder", "unit": "C"}
    assert finish == "tool_calls"
    assert fake.stats.requests_total == 1


@pytest.mark.parametrize("model", ["fake-gpt", "orchestratex/auto", "orchestratex/refine"])
async def test_json_schema_answers_satisfy_the_schema(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    async with client(service) as sdk:
        completion = await sdk.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Invent a person"}],
            response_format=fmt,
        )
    data = json.loads(completion.choices[0].message.content or "")
    assert isinstance(data["name"], str) and data["age"] >= 0
    answers = [r["body"] for r in fake.requests if "rubric" not in json.dumps(r["body"]).lower()]
    assert answers, "at least one answering call"
    for body in answers:
        assert body["response_format"]["json_schema"]["schema"] == PERSON


async def test_json_object_through_auto_streams_the_checked_answer(
    service: Running, fake: FakeProviderServer
) -> None:
    text = await streamed_text(
        service,
        model="orchestratex/auto",
        messages=[{"role": "user", "content": "Three colours as JSON"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(text)["fake_provider"] == "test tool, not a model"


@pytest.mark.parametrize(
    ("model", "extra", "param"),
    [
        ("orchestratex/auto", {"tools": [WEATHER]}, "tools"),
        ("orchestratex/refine", {"tools": [WEATHER]}, "tools"),
        ("fake-gpt", {"logprobs": True}, "logprobs"),
        ("fake-gpt", {"n": 2}, "n"),
        ("fake-claude", {"seed": 3}, "seed"),
        ("fake-claude", {"temperature": 0.5}, "temperature"),
        ("fake-gpt", {"tool_choice": "required"}, "tool_choice"),
        ("fake-gpt", {"top_p": "0.5"}, "top_p"),
        ("fake-gpt", {"seed": 1.5}, "seed"),
        ("fake-gpt", {"messages": [{"role": "user", "content": "a\u0000b"}]}, "messages"),
        ("orchestratex/auto", {"messages": [{"role": "tool", "content": "x"}]}, "messages"),
        ("fake-gpt", {"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        (
            "fake-gpt",
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format",
        ),
        (
            "fake-gpt",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": 5}},
                }
            },
            "response_format",
        ),
    ],
)
async def test_options_that_cannot_be_honoured_are_a_400_before_any_call(
    service: Running, fake: FakeProviderServer, model: str, extra: dict[str, Any], param: str
) -> None:
    async with client(service) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], extra_body=extra
            )
    error = caught.value
    assert error.status_code == 400
    assert isinstance(error.body, dict) and error.body["type"] == "invalid_request_error"
    assert param in (error.body.get("param") or "") or param in error.body["message"]
    assert fake.stats.requests_total == 0


async def test_errors_reach_the_sdk_as_its_exceptions(service: Running) -> None:
    async with client(service) as sdk:
        with pytest.raises(openai.NotFoundError) as missing:
            await sdk.chat.completions.create(
                model="no-such-model", messages=[{"role": "user", "content": "hi"}]
            )
        assert (
            isinstance(missing.value.body, dict) and missing.value.body["code"] == "model_not_found"
        )
    async with openai.AsyncOpenAI(
        base_url=f"{service.base_url}/v1", api_key="wrong-key", max_retries=0
    ) as stranger:
        with pytest.raises(openai.AuthenticationError):
            await stranger.chat.completions.create(
                model="fake-gpt", messages=[{"role": "user", "content": "hi"}]
            )


async def test_an_upstream_refusal_is_the_clients_400_and_a_lasting_rate_limit_a_429(
    service: Running, fake: FakeProviderServer
) -> None:
    fake.options.fail_rate = 1.0
    fake.options.retry_after_s = 0.0
    async with client(service) as sdk:

        async def ask() -> None:
            await sdk.chat.completions.create(
                model="fake-gpt", messages=[{"role": "user", "content": "hi"}]
            )

        fake.options.faults = ["bad_request"]
        with pytest.raises(openai.BadRequestError) as refused:  # not a 502 the SDK would retry
            await ask()
        assert refused.value.code == "bad_request"
        assert "injected invalid request" in refused.value.message
        assert fake.stats.requests_total == 1, "the request's own fault is not retried"
        fake.options.faults = ["rate_limit"]
        with pytest.raises(openai.RateLimitError) as limited:
            await ask()
        assert limited.value.code == "rate_limited"


async def test_models_list_and_retrieve_and_unknown_routes(service: Running) -> None:
    async with client(service) as sdk:
        listed = [m.id async for m in sdk.models.list()]
        assert listed[:2] == ["orchestratex/auto", "orchestratex/refine"] and "fake-gpt" in listed
        auto = await sdk.models.retrieve("orchestratex/auto")
        named = await sdk.models.retrieve("fake-gpt")
        assert (auto.id, named.id, named.owned_by) == (
            "orchestratex/auto",
            "fake-gpt",
            "fake-openai",
        )
        with pytest.raises(openai.NotFoundError) as missing:
            await sdk.models.retrieve("no-such-model")
        assert isinstance(missing.value.body, dict)
        assert missing.value.body["code"] == "model_not_found"
        with pytest.raises(openai.NotFoundError) as no_route:
            await sdk.embeddings.create(model="fake-gpt", input="hi")
        # An unknown /v1 path answers in OpenAI's shape, naming what was asked.
        assert isinstance(no_route.value.body, dict)
        assert no_route.value.body["type"] == "invalid_request_error"
        assert "POST /v1/embeddings" in no_route.value.body["message"]
