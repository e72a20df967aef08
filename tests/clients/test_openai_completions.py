"""The official `openai` SDK's legacy `completions` API against POST /v1/completions."""

from __future__ import annotations

import openai
import pytest

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.clients.test_openai_sdk import client


async def test_a_prompt_is_one_user_message_to_the_named_model(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        reply = await sdk.completions.create(model="fake-gpt", prompt="Say hi", stop=["\n\n"])
        assert reply.object == "text_completion" and reply.id.startswith("cmpl-")
        [choice] = reply.choices
        assert "fake provider" in choice.text and choice.finish_reason in ("stop", "length")
        assert reply.usage is not None and reply.usage.completion_tokens > 0
        sent = fake.last_body()
        assert sent["messages"] == [{"role": "user", "content": "Say hi"}]
        assert sent["max_tokens"] == 16 and sent["stop"] == ["\n\n"]  # the legacy default
        await sdk.completions.create(model="fake-claude", prompt=["Say hi"], max_tokens=40)
        assert fake.last_body()["max_tokens"] == 40


async def test_a_streamed_completion_sends_text_completion_chunks_then_usage(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        stream = await sdk.completions.create(
            model="fake-gpt",
            prompt="Stream please",
            max_tokens=200,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.object == "text_completion" for c in chunks)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert "fake provider" in text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and all(f is None for f in finishes[:-1])
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert fake.stats.requests_total == 1


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"prompt": ["one", "two"]}, "one prompt per request"),
        ({"prompt": [1, 2, 3]}, "token ids"),
        ({"echo": True}, "echo"),
        ({"best_of": 2}, "best_of"),
        ({"logprobs": 2}, "logprobs"),
        ({"n": 2}, "n"),
    ],
)
async def test_what_cannot_be_honoured_is_a_400_before_any_call(
    service: Running, fake: FakeProviderServer, extra: dict[str, object], says: str
) -> None:
    async with client(service) as sdk:
        with pytest.raises(openai.BadRequestError) as refused:
            await sdk.completions.create(
                model="fake-gpt",
                **{"prompt": "hi", **extra},  # type: ignore[call-overload]
            )
    assert says in refused.value.message
    assert fake.stats.requests_total == 0
