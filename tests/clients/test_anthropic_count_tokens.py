"""`POST /v1/messages/count_tokens` through the official `anthropic` SDK's
`messages.count_tokens`: the input counted with cl100k_base as OpenAI counts chat input, checked
like /v1/messages, with no upstream call, nothing stored and no request-rate charge."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest

from orchestratex.providers.replay_tokens import tokenizers
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.clients.test_anthropic_sdk import WEATHER, client
from tests.waiting import until

SYSTEM = "Answer briefly."
CONVERSATION: Any = [
    {"role": "user", "content": "What is a monad?"},
    {"role": "assistant", "content": "A design pattern."},
    {"role": "user", "content": [{"type": "text", "text": "Say more"}]},
]


def tokens(text: str) -> int:
    return tokenizers().gpt4_text(text)


def chat_tokens(*turns: tuple[str, str]) -> int:
    """OpenAI's count of chat input: 3 per message, its role and content, 3 for the reply."""
    return 3 + sum(3 + tokens(role) + tokens(content) for role, content in turns)


CONVERSATION_TOKENS = chat_tokens(
    ("system", SYSTEM),
    ("user", "What is a monad?"),
    ("assistant", "A design pattern."),
    ("user", "Say more"),
)


async def _threads(service: Running) -> int:
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        page = await http.get("/api/threads", headers={"Authorization": f"Bearer {service.key}"})
    assert page.status_code == 200, page.text
    total: int = page.json()["total"]
    return total


@pytest.mark.parametrize(
    "model", ["fake-claude", "fake-gpt", "orchestratex/auto", "orchestratex/refine"]
)
async def test_the_count_is_cl100k_s_count_of_the_chat_input(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    async with client(service) as sdk:
        counted = await sdk.messages.count_tokens(model=model, system=SYSTEM, messages=CONVERSATION)
    assert counted.input_tokens == CONVERSATION_TOKENS
    assert fake.stats.requests_total == 0


async def test_the_count_follows_text_tools_and_tool_turns(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        accented = await sdk.messages.count_tokens(
            model="fake-claude", messages=[{"role": "user", "content": "héllo €"}]
        )
        with_tool = await sdk.messages.count_tokens(
            model="fake-claude", messages=[{"role": "user", "content": "héllo €"}], tools=[WEATHER]
        )
        tool_turns = await sdk.messages.count_tokens(
            model="fake-claude",
            tools=[WEATHER],
            messages=[
                {"role": "user", "content": "héllo €"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sun"}],
                },
            ],
        )
    assert accented.input_tokens == chat_tokens(("user", "héllo €"))
    schema = tokens(json.dumps(WEATHER["input_schema"]))
    assert with_tool.input_tokens >= accented.input_tokens + schema
    # The call turn (its call's name and JSON) and the result turn ("sun").
    assert tool_turns.input_tokens >= with_tool.input_tokens + 2 * 3 + tokens("get_weather") + 1
    assert fake.stats.requests_total == 0


@pytest.mark.parametrize("settings_options", [{"requests_per_minute": 1}])
async def test_counting_stores_nothing_and_spends_no_request(
    service: Running, fake: FakeProviderServer
) -> None:
    hi: Any = [{"role": "user", "content": "Explain recursion"}]
    async with client(service) as sdk:
        for _ in range(3):
            counted = await sdk.messages.count_tokens(model="orchestratex/auto", messages=hi)
            assert counted.input_tokens == chat_tokens(("user", "Explain recursion"))
        assert fake.stats.requests_total == 0 and await _threads(service) == 0
        # The one orchestration a minute is still there, and then spent.
        await sdk.messages.create(model="orchestratex/auto", max_tokens=300, messages=hi)
        with pytest.raises(anthropic.RateLimitError):
            await sdk.messages.create(model="orchestratex/auto", max_tokens=300, messages=hi)
        again = await sdk.messages.count_tokens(model="orchestratex/auto", messages=hi)
    assert again.input_tokens == counted.input_tokens

    async def stored() -> int:
        return await _threads(service)

    assert await until(stored, what="the orchestration stored") == 1


REFUSED: list[tuple[str, dict[str, Any]]] = [
    ("not_found_error", {"model": "no-such-model"}),
    ("invalid_request_error", {"model": "orchestratex/auto", "tools": [WEATHER]}),
    ("invalid_request_error", {"messages": []}),
    ("invalid_request_error", {"messages": [{"role": "system", "content": "x"}]}),
    (
        "invalid_request_error",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                    ],
                }
            ]
        },
    ),
    ("invalid_request_error", {"tools": [WEATHER], "tool_choice": {"type": "tool"}}),
    ("invalid_request_error", {"thinking": {"type": "enabled", "budget_tokens": 1024}}),
    ("invalid_request_error", {"temperature": 1.5}),
]


@pytest.mark.parametrize(("kind", "change"), REFUSED)
async def test_a_body_messages_refuses_is_refused_the_same_way(
    service: Running, fake: FakeProviderServer, kind: str, change: dict[str, Any]
) -> None:
    body: dict[str, Any] = {
        "model": "fake-claude",
        "messages": [{"role": "user", "content": "hi"}],
        **change,
    }
    async with httpx.AsyncClient(
        base_url=service.base_url, headers={"x-api-key": service.key}
    ) as http:
        created = await http.post("/v1/messages", json={**body, "max_tokens": 100})
        counted = await http.post("/v1/messages/count_tokens", json=body)
    assert created.status_code in (400, 404) and counted.status_code == created.status_code
    assert counted.json() == created.json()
    assert counted.json()["error"]["type"] == kind
    assert fake.stats.requests_total == 0


async def test_counting_needs_the_key_and_fits_the_body_limit(
    service: Running, fake: FakeProviderServer
) -> None:
    hi: Any = [{"role": "user", "content": "hi"}]
    async with anthropic.AsyncAnthropic(
        base_url=service.base_url, api_key="not-a-key", max_retries=0
    ) as stranger:
        with pytest.raises(anthropic.AuthenticationError) as denied:
            await stranger.messages.count_tokens(model="fake-gpt", messages=hi)
    assert isinstance(denied.value.body, dict)
    assert denied.value.body["error"]["type"] == "authentication_error"
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        keyless = await http.post(
            "/v1/messages/count_tokens", json={"model": "fake-gpt", "messages": hi}
        )
    assert keyless.status_code == 401 and keyless.json()["type"] == "error"
    huge: Any = [{"role": "user", "content": "a" * 1_000_001}]
    async with client(service) as sdk:
        with pytest.raises(anthropic.RequestTooLargeError) as too_large:
            await sdk.messages.count_tokens(model="fake-gpt", messages=huge)
        # A long conversation within the limits is counted.
        long_text = "The quick brown fox jumps over the lazy dog. " * 2_000
        fits: Any = [{"role": "user", "content": long_text}]
        counted = await sdk.messages.count_tokens(model="fake-gpt", messages=fits)
    assert too_large.value.status_code == 413
    assert counted.input_tokens == chat_tokens(("user", long_text)) > 20_000
    assert fake.stats.requests_total == 0


@pytest.mark.parametrize("model", ["fake-claude", "fake-gpt", "orchestratex/auto"])
async def test_a_stream_starts_with_the_count_and_ends_with_the_billed_input(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    async with (
        client(service) as sdk,
        sdk.messages.stream(
            model=model, max_tokens=200, system=SYSTEM, messages=CONVERSATION
        ) as stream,
    ):
        events = [event async for event in stream]
        final = await stream.get_final_message()
    start = events[0]
    assert start.type == "message_start"
    assert start.message.usage.input_tokens == CONVERSATION_TOKENS
    [delta] = [event for event in events if event.type == "message_delta"]
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        thread = await http.get(
            f"/api/threads/{final.id.removeprefix('msg_')}",
            headers={"Authorization": f"Bearer {service.key}"},
        )
    billed = thread.json()["thread"]["input_tokens"]
    assert delta.usage.input_tokens == final.usage.input_tokens == billed > 0
