"""The load client against the in-process fake provider: bounds, counts and percentiles."""

from __future__ import annotations

import httpx

from orchestratex.bench import loadgen
from orchestratex.bench.loadgen import percentile
from orchestratex.testing.fake_provider import FakeProviderServer

BODY = {"model": "fake-model-a", "messages": [{"role": "user", "content": "hi"}]}


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) == 0.0


async def test_fixed_concurrency_sends_exactly_the_count(fake_provider: FakeProviderServer) -> None:
    call = loadgen.post_json(fake_provider.openai_base_url + "/chat/completions", BODY)
    async with loadgen.make_client(2) as client:
        stats = await loadgen.run_concurrent(client, call, concurrency=2, requests=7)
    assert (stats.sent, stats.ok, stats.errors) == (7, 7, 0)
    assert fake_provider.stats.requests_total == 7
    assert fake_provider.stats.max_in_flight <= 2
    assert 0 < stats.p50_ms <= stats.p99_ms <= stats.max_ms


async def test_unexpected_status_counts_as_error(fake_provider: FakeProviderServer) -> None:
    call = loadgen.post_json(fake_provider.openai_base_url + "/chat/completions", BODY, expect=202)
    async with loadgen.make_client(1) as client:
        stats = await loadgen.run_concurrent(client, call, concurrency=1, requests=3)
    assert stats.ok == 0
    assert stats.error_kinds == {"http_200": 3}


async def test_fixed_rate_is_bounded_by_time(fake_provider: FakeProviderServer) -> None:
    call = loadgen.post_stream(
        fake_provider.openai_base_url + "/chat/completions", {**BODY, "stream": True}
    )
    async with loadgen.make_client(8) as client:
        stats = await loadgen.run_rate(client, call, rate_per_s=20.0, duration_s=0.5)
    assert stats.sent == 10
    assert stats.ok == 10
    assert stats.mode == "rate"
    assert stats.target_rate_per_s == 20.0
    assert stats.wall_s >= 0.5


async def test_connection_errors_are_counted() -> None:
    call = loadgen.post_json("http://127.0.0.1:9/v1/chat/completions", BODY)
    async with httpx.AsyncClient(timeout=2.0) as client:
        stats = await loadgen.run_concurrent(client, call, concurrency=1, requests=2)
    assert stats.ok == 0
    assert stats.errors == 2
