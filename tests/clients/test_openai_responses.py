"""The official `openai` SDK's Responses API (`client.responses`) against POST /v1/responses."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from orchestratex.store.tables import UsageRecord
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.waiting import status_ended

WEATHER: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
    "strict": None,
}
STREAM_ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def client(service: Running) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{service.base_url}/v1", api_key=service.key, max_retries=0)


def extension(response: Any) -> dict[str, Any]:
    extra: dict[str, Any] = response.model_extra or {}
    return dict(extra["orchestratex"])


async def recorded(service: Running, thread_id: str) -> tuple[int, int]:
    """Input and output tokens of the thread's usage rows."""
    running = service.app.state.service
    await running.flush(thread_id)
    async with running.sessions() as session:
        row = (
            await session.execute(
                select(
                    func.sum(UsageRecord.input_tokens), func.sum(UsageRecord.output_tokens)
                ).where(UsageRecord.thread_id == thread_id)
            )
        ).one()
    return int(row[0] or 0), int(row[1] or 0)


def sdk_http(service: Running) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {service.key}"}
    return httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=30)


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_text_with_instructions_is_one_call_with_every_option(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    # The Anthropic Messages API has no top_p (asking for it there is a 400, see the errors).
    sampling: dict[str, Any] = {"top_p": 0.5} if model == "fake-gpt" else {}
    async with client(service) as sdk:
        response = await sdk.responses.create(
            model=model,
            instructions="Answer briefly.",
            input="What is a monad?",
            max_output_tokens=300,
            **sampling,
            metadata={"ticket": "T-1"},
            user="user-7",
            store=False,
        )
    assert response.object == "response" and response.status == "completed"
    assert response.model == model and response.error is None
    assert 'Answer to: "What is a monad?"' in response.output_text
    [message] = response.output
    assert message.type == "message" and message.role == "assistant"
    ext = extension(response)
    assert response.id == f"resp_{ext['thread_id']}" and ext["judged"] is False
    assert response.metadata == {"ticket": "T-1"} and response.max_output_tokens == 300
    assert response.usage is not None
    tin, tout = await recorded(service, ext["thread_id"])
    assert (response.usage.input_tokens, response.usage.output_tokens) == (tin, tout)
    assert response.usage.total_tokens == tin + tout and tin > 0 and tout > 0
    assert fake.stats.requests_total == 1
    body = fake.last_body()
    if model == "fake-gpt":
        assert body["messages"][0] == {"role": "system", "content": "Answer briefly."}
        assert body["max_tokens"] == 300 and body["top_p"] == 0.5
    else:
        assert body["system"] == "Answer briefly." and body["max_tokens"] == 300
        assert [m["role"] for m in body["messages"]] == ["user"]


async def test_input_items_become_the_conversation(
    service: Running, fake: FakeProviderServer
) -> None:
    items: Any = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "What is a monad?"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "A design pattern.", "annotations": []}],
        },
        {"type": "message", "role": "user", "content": "Say more about bind"},
    ]
    async with client(service) as sdk:
        response = await sdk.responses.create(model="fake-gpt", input=items, temperature=0.3)
    assert 'Answer to: "Say more about bind"' in response.output_text
    sent = fake.last_body()
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["messages"][2]["content"] == "A design pattern." and sent["temperature"] == 0.3


async def test_orchestrating_model_keeps_instructions_as_the_system(service: Running) -> None:
    async with client(service) as sdk:
        response = await sdk.responses.create(
            model="orchestratex/auto", instructions="Answer briefly.", input="Explain recursion"
        )
    ext = extension(response)
    assert ext["rounds"] == 1 and ext["judged"] is True
    assert "(revision 0)" in response.output_text
    async with sdk_http(service) as http:
        detail = (await http.get(f"/api/threads/{ext['thread_id']}")).json()
    assert detail["system"] == "Answer briefly." and detail["prompt"] == "Explain recursion"


@pytest.mark.parametrize("model", ["fake-gpt", "orchestratex/refine"])
async def test_streaming_sends_the_responses_events(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    async with (
        client(service) as sdk,
        sdk.responses.stream(model=model, input="Describe the water cycle") as stream,
    ):
        events = [event async for event in stream]
        final = await stream.get_final_response()
    kinds = [e.type for e in events]
    assert [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]] == STREAM_ORDER
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1, "the text arrives in several deltas"
    ext = extension(final)
    running = service.app.state.service
    async with sdk_http(service) as http:
        status = await status_ended(http, ext["thread_id"])
    assert final.output_text == "".join(deltas) == status["answer"]
    assert ("(revision 2)" in final.output_text) == (model == "orchestratex/refine")
    assert final.status == "completed" and final.usage is not None
    await running.flush(ext["thread_id"])
    tin, tout = await recorded(service, ext["thread_id"])
    assert (final.usage.input_tokens, final.usage.output_tokens) == (tin, tout)
    assert final.usage.total_tokens == tin + tout > 0


@pytest.mark.parametrize("stream", [False, True])
async def test_a_reply_cut_at_max_output_tokens_is_incomplete(
    service: Running, fake: FakeProviderServer, stream: bool
) -> None:
    async with client(service) as sdk:
        if stream:
            events = await sdk.responses.create(
                model="fake-gpt", input="Write an essay", max_output_tokens=5, stream=True
            )
            kinds = [event async for event in events]
            assert kinds[-1].type == "response.incomplete"
            response: Any = kinds[-1].response
        else:
            response = await sdk.responses.create(
                model="fake-gpt", input="Write an essay", max_output_tokens=5
            )
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"
    assert 0 < len(response.output_text) <= 20  # the fake cuts at four characters a token
    assert fake.last_body()["max_tokens"] == 5


@pytest.mark.parametrize("stream", [False, True])
async def test_function_tools_round_trip(
    service: Running, fake: FakeProviderServer, stream: bool
) -> None:
    first: Any
    async with client(service) as sdk:
        if stream:
            async with sdk.responses.stream(
                model="fake-gpt", input="Weather in Rome?", tools=[WEATHER]
            ) as events:
                first = await events.get_final_response()
        else:
            first = await sdk.responses.create(
                model="fake-gpt",
                input="Weather in Rome?",
                tools=[WEATHER],
                tool_choice={"type": "function", "name": "get_weather"},
            )
            sent = fake.last_body()
            assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        [call] = first.output
        assert call.type == "function_call" and call.name == "get_weather"
        assert json.loads(call.arguments) == {"city": "[fake provider] placeholder"}
        assert fake.last_body()["tools"][0]["function"]["parameters"] == WEATHER["parameters"]
        second = await sdk.responses.create(
            model="fake-gpt",
            input=[
                {"role": "user", "content": "Weather in Rome?"},
                *[item.model_dump(exclude_none=True) for item in first.output],
                {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
            ],
            tools=[WEATHER],
        )
    assert 'The tool returned: "sunny"' in second.output_text
    upstream = fake.last_body()["messages"]
    assert [m["role"] for m in upstream] == ["user", "assistant", "tool"]
    assert upstream[1]["tool_calls"][0]["id"] == call.call_id
    assert upstream[2]["tool_call_id"] == call.call_id and upstream[2]["content"] == "sunny"


@pytest.mark.parametrize("model", ["fake-gpt", "orchestratex/auto"])
async def test_text_format_json_schema(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    schema: Any = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    async with client(service) as sdk:
        response = await sdk.responses.create(
            model=model,
            input="A number",
            text={"format": {"type": "json_schema", "name": "number", "schema": schema}},
        )
    assert json.loads(response.output_text) == {"n": 1}
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"
    if model == "fake-gpt":  # (orchestrating: any model may answer, in its API's terms)
        assert fake.last_body()["response_format"]["json_schema"]["schema"] == schema
    else:
        assert extension(response)["judged"] is True


class Person(BaseModel):
    name: str
    age: int


async def test_the_sdk_parse_helper_gets_its_model_back(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        parsed = await sdk.responses.parse(
            model="fake-gpt", input="Invent a person", text_format=Person
        )
    person = parsed.output_parsed
    assert isinstance(person, Person) and person.name == "[fake provider] placeholder"
    sent = fake.last_body()["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["name", "age"]
