"""The fake provider through the real Anthropic SDK."""

from __future__ import annotations

import math

import anthropic

PREFIX = "[fake provider: test tool, not a model]"


async def test_non_stream_message(anthropic_client: anthropic.AsyncAnthropic) -> None:
    message = await anthropic_client.messages.create(
        model="fake-claude",
        max_tokens=500,
        system="You are terse.",
        messages=[{"role": "user", "content": "Name a prime (revision 0)"}],
    )
    block = message.content[0]
    assert block.type == "text"
    assert block.text.startswith(f'{PREFIX} Answer to: "Name a prime (revision 0)" (revision 1).')
    assert message.stop_reason == "end_turn"
    expected_in = math.ceil((len("You are terse.") + len("Name a prime (revision 0)")) / 4)
    assert message.usage.input_tokens == expected_in
    assert message.usage.output_tokens == math.ceil(len(block.text) / 4)


async def test_stream_events_and_usage(anthropic_client: anthropic.AsyncAnthropic) -> None:
    stream = await anthropic_client.messages.create(
        model="fake-claude",
        max_tokens=500,
        messages=[{"role": "user", "content": [{"type": "text", "text": "ECHO: hello there"}]}],
        stream=True,
    )
    kinds: list[str] = []
    pieces: list[str] = []
    input_tokens = output_tokens = -1
    async for event in stream:
        kinds.append(event.type)
        if event.type == "message_start":
            input_tokens = event.message.usage.input_tokens
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            pieces.append(event.delta.text)
        elif event.type == "message_delta":
            output_tokens = event.usage.output_tokens
            assert event.delta.stop_reason == "end_turn"
    text = "".join(pieces)
    assert text == f"{PREFIX} hello there (revision 0)"
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert input_tokens == math.ceil(len("ECHO: hello there") / 4)
    assert output_tokens == math.ceil(len(text) / 4)


async def test_stream_helper_final_message(anthropic_client: anthropic.AsyncAnthropic) -> None:
    async with anthropic_client.messages.stream(
        model="m",
        max_tokens=500,
        messages=[
            {"role": "user", "content": "Draft"},
            {"role": "assistant", "content": "draft (revision 0)"},
            {"role": "user", "content": "Revise it"},
        ],
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert "(revision 1)" in text
    assert final.usage.output_tokens == math.ceil(len(text) / 4)


async def test_max_tokens_stop_reason(anthropic_client: anthropic.AsyncAnthropic) -> None:
    message = await anthropic_client.messages.create(
        model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens <= 5


async def test_models_list(anthropic_client: anthropic.AsyncAnthropic) -> None:
    page = await anthropic_client.models.list()
    assert "fake-down" in [m.id for m in page.data]
