"""Counters: totals, per model and path, peak concurrency, reset."""

from __future__ import annotations

import asyncio

import openai

from orchestratex.testing.fake_provider import FakeProviderServer, FakeStats
from tests.waiting import until


async def test_ten_concurrent_requests_are_all_in_flight(
    fake_provider: FakeProviderServer, openai_client: openai.AsyncOpenAI
) -> None:
    fake_provider.options.latency_ms = 300

    async def ask(i: int) -> str:
        result = await openai_client.chat.completions.create(
            model=f"model-{i % 2}", messages=[{"role": "user", "content": f"question {i}"}]
        )
        return result.choices[0].message.content or ""

    answers = await asyncio.gather(*(ask(i) for i in range(10)))
    assert all("(revision 0)" in a for a in answers)
    stats = fake_provider.stats
    assert stats.max_in_flight == 10
    assert stats.in_flight == 0
    assert stats.requests_total == 10
    assert stats.by_model == {"model-0": 5, "model-1": 5}
    assert stats.by_path == {"/v1/chat/completions": 10}
    assert [len(t) for t in stats.request_times.values()] == [5, 5]
    assert stats.faults == {}


async def test_stats_endpoint_and_reset(
    fake_provider: FakeProviderServer, openai_client: openai.AsyncOpenAI
) -> None:
    await openai_client.chat.completions.create(
        model="a", messages=[{"role": "user", "content": "x"}]
    )
    raw = await openai_client.get(f"{fake_provider.base_url}/stats", cast_to=object)
    served = FakeStats.model_validate(raw)
    assert served.by_model == {"a": 1}
    assert served == fake_provider.stats
    fake_provider.reset_stats()
    assert fake_provider.stats == FakeStats()


async def test_stream_counts_as_in_flight_until_its_end(
    fake_provider: FakeProviderServer, openai_client: openai.AsyncOpenAI
) -> None:
    fake_provider.options.latency_ms = 200
    stream = await openai_client.chat.completions.create(
        model="s", messages=[{"role": "user", "content": "x"}], stream=True
    )
    first = await stream.__anext__()
    assert first.choices
    assert fake_provider.stats.in_flight == 1
    async for _ in stream:
        pass
    # The client has read the end; the server counts the stream out as its handler returns.
    await until(lambda: fake_provider.stats.in_flight == 0, what="no request in flight")
