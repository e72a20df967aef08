"""`previous_response_id`: a response continues from an earlier one of the same caller."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from orchestratex.runtime.auth import create_key
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.clients.test_openai_responses import WEATHER, client


async def test_a_chain_carries_the_conversation_and_answers_not_the_instructions(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        first = await sdk.responses.create(
            model="fake-gpt", instructions="Be brief.", input="What is a monad?"
        )
        second = await sdk.responses.create(
            model="fake-gpt",
            instructions="Be thorough.",
            input="Say more",
            previous_response_id=first.id,
        )
        assert fake.last_body()["messages"] == [
            {"role": "system", "content": "Be thorough."},
            {"role": "user", "content": "What is a monad?"},
            {"role": "assistant", "content": first.output_text},
            {"role": "user", "content": "Say more"},
        ]
        third = await sdk.responses.create(
            model="fake-claude", input="And in Haskell?", previous_response_id=second.id
        )
    assert third.status == "completed" and third.output_text
    sent = fake.last_body()["messages"]  # Anthropic's wire: no system turn was asked for
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[3]["content"] == second.output_text and sent[4]["content"] == "And in Haskell?"


async def test_a_function_call_answer_is_continued_with_its_output(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        first = await sdk.responses.create(
            model="fake-gpt", input="Weather in Rome?", tools=[WEATHER]
        )
        [call] = first.output
        assert call.type == "function_call"
        second = await sdk.responses.create(
            model="fake-gpt",
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=[WEATHER],
            previous_response_id=first.id,
        )
    assert 'The tool returned: "sunny"' in second.output_text
    upstream = fake.last_body()["messages"]
    assert [m["role"] for m in upstream] == ["user", "assistant", "tool"]
    assert upstream[1]["tool_calls"][0]["id"] == call.call_id
    assert upstream[1]["tool_calls"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("kind", ["unknown", "malformed", "another user's"])
async def test_a_response_the_caller_cannot_see_is_a_404_before_any_call(
    service: Running, fake: FakeProviderServer, kind: str
) -> None:
    previous = {"unknown": "resp_0123456789abcdef", "malformed": "nonsense"}.get(kind)
    if previous is None:
        async with service.app.state.service.sessions() as session:
            other = await create_key(session, name="someone else")
        async with openai.AsyncOpenAI(
            base_url=f"{service.base_url}/v1", api_key=other.key, max_retries=0
        ) as theirs:
            previous = (await theirs.responses.create(model="fake-gpt", input="Secret plans")).id
    fake.reset_stats()
    async with client(service) as sdk:
        with pytest.raises(openai.NotFoundError) as caught:
            await sdk.responses.create(
                model="fake-gpt", input="Tell me more", previous_response_id=previous
            )
    error: Any = caught.value.body
    assert error["code"] == "previous_response_not_found"
    assert error["param"] == "previous_response_id" and previous in error["message"]
    assert fake.stats.requests_total == 0
