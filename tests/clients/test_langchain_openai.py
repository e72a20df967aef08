"""`langchain-openai` (a third-party OpenAI-compatible client) against a running service."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running


class Person(BaseModel):
    name: str
    age: int


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny in {city}"


def chat(service: Running, model: str, **kw: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=f"{service.base_url}/v1",
        api_key=service.key,
        max_retries=0,
        **kw,
    )


async def test_invoke_carries_temperature_and_stop(
    service: Running, fake: FakeProviderServer
) -> None:
    llm = chat(service, "fake-gpt", temperature=0.25, stop=["STOP"], max_tokens=120)
    reply = await llm.ainvoke([SystemMessage("Be brief."), HumanMessage("Name a planet")])
    assert isinstance(reply, AIMessage) and "fake provider" in str(reply.content)
    body = fake.last_body()
    assert body["temperature"] == 0.25 and body["stop"] == ["STOP"] and body["max_tokens"] == 120
    assert fake.stats.requests_total == 1


async def test_streaming(service: Running, fake: FakeProviderServer) -> None:
    llm = chat(service, "orchestratex/auto")
    pieces = [str(chunk.content) async for chunk in llm.astream("Tell me about rivers")]
    assert len([p for p in pieces if p]) >= 2 and "fake provider" in "".join(pieces)


async def test_json_mode_and_json_schema_structured_output(
    service: Running, fake: FakeProviderServer
) -> None:
    json_mode = chat(service, "fake-gpt").with_structured_output(None, method="json_mode")
    data = await json_mode.ainvoke("Return JSON about colours")
    assert isinstance(data, dict) and data["fake_provider"] == "test tool, not a model"
    assert fake.last_body()["response_format"] == {"type": "json_object"}

    structured = chat(service, "orchestratex/refine").with_structured_output(
        Person, method="json_schema"
    )
    person = await structured.ainvoke("Invent a person")
    assert isinstance(person, Person) and isinstance(person.age, int)
    assert fake.last_body()["response_format"]["type"] == "json_schema"


async def test_bound_tools_call_and_answer(service: Running, fake: FakeProviderServer) -> None:
    llm = chat(service, "fake-claude").bind_tools([get_weather])
    question = HumanMessage("Weather in Lima?")
    first = await llm.ainvoke([question])
    assert isinstance(first, AIMessage)
    [call] = first.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "[fake provider] placeholder"}
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    second = await llm.ainvoke([question, first, result])
    assert 'The tool returned: "sunny in [fake provider] placeholder"' in str(second.content)
    sent = fake.last_body()
    assert sent["tools"][0]["name"] == "get_weather"
    assert sent["messages"][-1]["content"][0]["tool_use_id"] == call["id"]
    assert json.dumps(sent).count("tool_use") >= 1
