"""Injected faults, model directives and seeded fault sequences, seen through the real SDKs."""

from __future__ import annotations

import asyncio
import time

import anthropic
import openai
import pytest

from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    FaultKind,
    run_fake_provider,
)
from tests.waiting import until


def _force(server: FakeProviderServer, kind: FaultKind, **extra: float) -> None:
    server.options = FakeProviderOptions(fail_rate=1.0, faults=[kind], hang_s=0.3, **extra)


async def _openai_call(
    client: openai.AsyncOpenAI, *, stream: bool, client_timeout_s: float = 5
) -> None:
    if stream:
        chunks = await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            timeout=client_timeout_s,
        )
        async for _ in chunks:
            pass
    else:
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hello"}], timeout=client_timeout_s
        )


async def _anthropic_call(
    client: anthropic.AsyncAnthropic, *, stream: bool, client_timeout_s: float = 5
) -> None:
    if stream:
        events = await client.messages.create(
            model="c",
            max_tokens=100,
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            timeout=client_timeout_s,
        )
        async for _ in events:
            pass
    else:
        await client.messages.create(
            model="c",
            max_tokens=100,
            messages=[{"role": "user", "content": "hello"}],
            timeout=client_timeout_s,
        )


@pytest.mark.parametrize("stream", [False, True])
async def test_rate_limit_carries_retry_after(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
    stream: bool,
) -> None:
    _force(fake_provider, "rate_limit", retry_after_s=0.5)
    with pytest.raises(openai.RateLimitError) as oa:
        await _openai_call(openai_client, stream=stream)
    assert oa.value.response.headers["retry-after"] == "0.5"
    with pytest.raises(anthropic.RateLimitError) as an:
        await _anthropic_call(anthropic_client, stream=stream)
    assert an.value.response.headers["retry-after"] == "0.5"
    assert fake_provider.stats.faults == {"rate_limit": 2}


@pytest.mark.parametrize("stream", [False, True])
async def test_server_error(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
    stream: bool,
) -> None:
    _force(fake_provider, "server_error")
    with pytest.raises(openai.InternalServerError) as oa:
        await _openai_call(openai_client, stream=stream)
    assert oa.value.status_code == 500
    with pytest.raises(anthropic.InternalServerError) as an:
        await _anthropic_call(anthropic_client, stream=stream)
    assert an.value.status_code == 500


async def test_timeout_answers_504_after_hang(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    _force(fake_provider, "timeout")
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as oa:
        await _openai_call(openai_client, stream=False)
    assert oa.value.status_code == 504
    assert time.monotonic() - started >= 0.3
    with pytest.raises(anthropic.GatewayTimeoutError):
        await _anthropic_call(anthropic_client, stream=True)


async def test_timeout_trips_a_short_client_timeout(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    _force(fake_provider, "timeout")
    with pytest.raises(openai.APITimeoutError):
        await _openai_call(openai_client, stream=True, client_timeout_s=0.1)
    with pytest.raises(anthropic.APITimeoutError):
        await _anthropic_call(anthropic_client, stream=False, client_timeout_s=0.1)


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_body_is_not_json(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
    stream: bool,
) -> None:
    _force(fake_provider, "malformed")
    with pytest.raises(ValueError):
        await _openai_call(openai_client, stream=stream)
    with pytest.raises(ValueError):
        await _anthropic_call(anthropic_client, stream=stream)


async def test_cut_non_stream_drops_the_connection(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    _force(fake_provider, "cut")
    with pytest.raises(openai.APIConnectionError):
        await _openai_call(openai_client, stream=False)
    with pytest.raises(anthropic.APIConnectionError):
        await _anthropic_call(anthropic_client, stream=False)


async def test_cut_openai_stream_raises_before_usage(
    fake_provider: FakeProviderServer, openai_client: openai.AsyncOpenAI
) -> None:
    _force(fake_provider, "cut")
    stream = await openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hello"}], stream=True
    )
    usages: list[object] = []
    received = 0
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received += 1
            usages.append(chunk.usage)
    assert 1 <= received <= 2
    assert usages == [None] * received


async def test_cut_anthropic_stream_stops_before_message_delta(
    fake_provider: FakeProviderServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    _force(fake_provider, "cut")
    stream = await anthropic_client.messages.create(
        model="c", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    kinds: list[str] = []
    with pytest.raises(Exception) as caught:
        async for event in stream:
            kinds.append(event.type)
    assert "peer closed" in str(caught.value) or isinstance(
        caught.value, anthropic.APIConnectionError
    )
    assert kinds == ["message_start", "content_block_start", "content_block_delta"]


async def test_down_directive_always_fails(
    fake_provider: FakeProviderServer,
    openai_client: openai.AsyncOpenAI,
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await openai_client.chat.completions.create(
                model="gpt-down-1", messages=[{"role": "user", "content": "hello"}]
            )
    with pytest.raises(anthropic.InternalServerError):
        await anthropic_client.messages.create(
            model="claude-down", max_tokens=50, messages=[{"role": "user", "content": "hello"}]
        )
    await openai_client.chat.completions.create(
        model="gpt-up", messages=[{"role": "user", "content": "hello"}]
    )
    assert fake_provider.stats.faults == {"down": 3}


async def _outcomes(seed: int) -> list[str]:
    options = FakeProviderOptions(
        fail_rate=0.5, faults=["rate_limit", "server_error", "malformed"], seed=seed
    )
    outcomes: list[str] = []
    async with (
        run_fake_provider(options) as server,
        openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="test", max_retries=0, timeout=5
        ) as client,
    ):
        for _ in range(16):
            try:
                await _openai_call(client, stream=False)
            except Exception as exc:
                outcomes.append(type(exc).__name__)
            else:
                outcomes.append("ok")
    return outcomes


async def test_same_seed_same_fault_sequence() -> None:
    first = await _outcomes(seed=1234)
    second = await _outcomes(seed=1234)
    other = await _outcomes(seed=99)
    assert first == second
    assert "ok" in first
    assert len(set(first)) >= 3
    assert first != other


async def test_closing_the_server_ends_a_hanging_request() -> None:
    options = FakeProviderOptions(fail_rate=1.0, faults=["timeout"], hang_s=30.0)
    started = time.monotonic()
    async with run_fake_provider(options) as server:
        client = openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="test", max_retries=0, timeout=20
        )
        pending = asyncio.create_task(_openai_call(client, stream=False))
        await until(lambda: server.stats.faults == {"timeout": 1}, what="the request hanging")
        assert not pending.done()
    with pytest.raises(openai.InternalServerError) as caught:
        await pending
    await client.close()
    assert caught.value.status_code == 504
    assert time.monotonic() - started < 5
