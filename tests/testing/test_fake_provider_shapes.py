"""Tools, JSON response formats and the recorded requests of the fake provider."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from jsonschema import Draft202012Validator

from orchestratex.testing.fake_provider import FakeProviderServer
from orchestratex.testing.fake_provider.shapes import example_for

TOOL: Any = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {"term": {"type": "string"}, "limit": {"type": "integer", "minimum": 3}},
        },
    },
}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}},
        {"type": "array", "items": {"type": "number", "maximum": 0}, "minItems": 2},
        {"type": "object", "properties": {"k": {"enum": ["x", "y"]}, "c": {"const": 4}}},
        {"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]},
        {"type": ["null", "object"], "properties": {"n": {"type": ["integer", "null"]}}},
    ],
)
def test_examples_satisfy_their_schema(schema: dict[str, Any]) -> None:
    assert Draft202012Validator(schema).is_valid(example_for(schema))


async def test_openai_tools_are_called_unless_choice_is_none(
    openai_client: openai.AsyncOpenAI,
) -> None:
    messages: Any = [{"role": "user", "content": "find cats"}]
    called = await openai_client.chat.completions.create(model="m", messages=messages, tools=[TOOL])
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function" and call.function.name == "lookup"
    assert json.loads(call.function.arguments)["limit"] == 3
    plain = await openai_client.chat.completions.create(
        model="m", messages=messages, tools=[TOOL], tool_choice="none"
    )
    assert plain.choices[0].message.tool_calls is None
    assert "[fake provider" in (plain.choices[0].message.content or "")


async def test_openai_streamed_tool_call_comes_in_pieces(
    openai_client: openai.AsyncOpenAI,
) -> None:
    stream = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "q"}], tools=[TOOL], stream=True
    )
    pieces = [
        piece
        async for chunk in stream
        for choice in chunk.choices
        for piece in choice.delta.tool_calls or []
    ]
    assert len(pieces) == 3 and pieces[0].id and pieces[0].function
    arguments = "".join((p.function.arguments or "") if p.function else "" for p in pieces)
    assert json.loads(arguments) == {"term": "[fake provider] placeholder", "limit": 3}


async def test_openai_response_formats_are_obeyed(openai_client: openai.AsyncOpenAI) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    shaped = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "n?"}], response_format=fmt
    )
    assert json.loads(shaped.choices[0].message.content or "") == {"n": 1}
    loose = await openai_client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "n?"}],
        response_format={"type": "json_object"},
    )
    answer = json.loads(loose.choices[0].message.content or "")
    assert answer["fake_provider"] == "test tool, not a model"
    assert "(revision 0)" in answer["answer"]


async def test_anthropic_tool_use_and_json_instruction(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    tool: Any = {"name": "lookup", "input_schema": TOOL["function"]["parameters"]}
    used = await anthropic_client.messages.create(
        model="m", max_tokens=50, messages=[{"role": "user", "content": "q"}], tools=[tool]
    )
    assert used.stop_reason == "tool_use"
    [block] = used.content
    assert block.type == "tool_use" and block.input == {
        "term": "[fake provider] placeholder",
        "limit": 3,
    }
    conversation: Any = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [block.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "42"}],
        },
    ]
    answered = await anthropic_client.messages.create(
        model="m", max_tokens=50, tools=[tool], messages=conversation
    )
    text = answered.content[0]
    assert text.type == "text" and 'The tool returned: "42"' in text.text
    shaped = await anthropic_client.messages.create(
        model="m",
        max_tokens=50,
        system="Answer with one JSON object only. It must match this JSON schema:\n"
        + json.dumps({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
        messages=[{"role": "user", "content": "ok?"}],
    )
    first = shaped.content[0]
    assert first.type == "text" and json.loads(first.text) == {"ok": True}


async def test_recorded_requests_over_http_and_reset(
    fake_provider: FakeProviderServer, openai_client: openai.AsyncOpenAI
) -> None:
    await openai_client.chat.completions.create(
        model="a", messages=[{"role": "user", "content": "x"}], temperature=0.5, seed=9
    )
    assert fake_provider.last_body()["seed"] == 9
    async with httpx.AsyncClient(base_url=fake_provider.base_url) as http:
        recorded = (await http.get("/requests")).json()["requests"]
        assert recorded == [
            {"path": "/v1/chat/completions", "body": fake_provider.requests[0]["body"]}
        ]
        assert recorded[0]["body"]["temperature"] == 0.5
        fake_provider.reset_stats()
        assert (await http.get("/requests")).json() == {"requests": []}
    assert fake_provider.last_body() == {}
