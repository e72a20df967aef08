"""The fake provider through the real OpenAI SDK."""

from __future__ import annotations

import math

import openai

from orchestratex.testing.fake_provider import FakeProviderServer

PREFIX = "[fake provider: test tool, not a model]"


async def test_non_stream_answer_has_prefix_revision_and_usage(
    openai_client: openai.AsyncOpenAI,
) -> None:
    question = "What is the capital of France?"
    result = await openai_client.chat.completions.create(
        model="fake-model-a",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": question},
        ],
    )
    text = result.choices[0].message.content or ""
    assert text.startswith(f'{PREFIX} Answer to: "{question}" (revision 0).')
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.prompt_tokens == math.ceil((len("Be brief.") + len(question)) / 4)
    assert result.usage.completion_tokens == math.ceil(len(text) / 4)
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.model == "fake-model-a"


async def test_revision_follows_the_largest_quoted_revision(
    openai_client: openai.AsyncOpenAI,
) -> None:
    result = await openai_client.chat.completions.create(
        model="m",
        messages=[
            {"role": "assistant", "content": "old text (revision 4)"},
            {"role": "user", "content": "Improve this: earlier text (revision 2)"},
        ],
    )
    assert "(revision 5)" in (result.choices[0].message.content or "")


async def test_quoted_question_is_cut_to_80_chars(openai_client: openai.AsyncOpenAI) -> None:
    long = "x" * 100
    result = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": long}]
    )
    assert f'Answer to: "{"x" * 80}" (revision 0).' in (result.choices[0].message.content or "")


async def test_max_tokens_bounds_the_answer(openai_client: openai.AsyncOpenAI) -> None:
    result = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=12
    )
    assert result.usage is not None
    assert result.usage.completion_tokens <= 12
    assert result.choices[0].finish_reason == "length"


async def test_stream_echo_and_usage_in_last_chunk(openai_client: openai.AsyncOpenAI) -> None:
    stream = await openai_client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "ECHO: exactly this text (revision 1)"}],
        stream=True,
    )
    pieces: list[str] = []
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
    text = "".join(pieces)
    assert text == f"{PREFIX} exactly this text (revision 1) (revision 2)"
    assert len(chunks) >= 4
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == math.ceil(len(text) / 4)
    assert all(c.usage is None for c in chunks[:-1])
    assert any(c.choices and c.choices[0].finish_reason == "stop" for c in chunks)


async def test_models_health_and_stats_endpoints(
    fake_provider: FakeProviderServer, openai_client: openai.AsyncOpenAI
) -> None:
    models = await openai_client.models.list()
    ids = [m.id for m in models.data]
    assert "fake-model-a" in ids
    health = await openai_client.get(f"{fake_provider.base_url}/healthz", cast_to=object)
    assert health == {"status": "ok", "tool": "orchestratex fake provider (test tool)"}
    stats = await openai_client.get(f"{fake_provider.base_url}/stats", cast_to=object)
    assert isinstance(stats, dict)
    assert stats["by_path"] == {"/v1/models": 1}
