"""A bounded asyncio load client: fixed concurrency or fixed rate, bounded in count and time.

A call is an async function that sends one request and raises on failure (an HTTP status of
400 or more counts as a failure). Latency is measured around each call, from its start.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, Field

Call = Callable[[httpx.AsyncClient, int], Awaitable[None]]
"""Sends request number i; raises on failure."""


class HttpStatusError(Exception):
    """A reply with a status that the call did not expect."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class LoadStats(BaseModel):
    """Latencies and outcomes of one load phase."""

    mode: str
    concurrency: int | None
    target_rate_per_s: float | None
    sent: int
    ok: int
    errors: int
    error_kinds: dict[str, int]
    wall_s: float
    throughput_per_s: float
    """Successful calls per second of wall time."""
    p50_ms: float
    p90_ms: float = 0.0
    p99_ms: float
    mean_ms: float
    max_ms: float
    latencies_ms: list[float] = Field(default_factory=list, exclude=True)
    """Every successful call's latency, in order (kept out of JSON output)."""


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class _Recorder:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0

    async def one(self, client: httpx.AsyncClient, call: Call, index: int) -> None:
        self.sent += 1
        start = time.perf_counter()
        try:
            await call(client, index)
        except HttpStatusError as exc:
            self.errors[f"http_{exc.status}"] += 1
        except httpx.TimeoutException:
            self.errors["timeout"] += 1
        except httpx.HTTPError as exc:
            self.errors[type(exc).__name__] += 1
        else:
            self.latencies_ms.append((time.perf_counter() - start) * 1000.0)

    def stats(
        self, mode: str, wall_s: float, *, concurrency: int | None, rate: float | None
    ) -> LoadStats:
        lat = self.latencies_ms
        ok = len(lat)
        return LoadStats(
            mode=mode,
            concurrency=concurrency,
            target_rate_per_s=rate,
            sent=self.sent,
            ok=ok,
            errors=sum(self.errors.values()),
            error_kinds=dict(self.errors),
            wall_s=round(wall_s, 3),
            throughput_per_s=round(ok / wall_s, 2) if wall_s > 0 else 0.0,
            p50_ms=round(percentile(lat, 50), 2),
            p90_ms=round(percentile(lat, 90), 2),
            p99_ms=round(percentile(lat, 99), 2),
            mean_ms=round(sum(lat) / ok, 2) if ok else 0.0,
            max_ms=round(max(lat), 2) if lat else 0.0,
            latencies_ms=list(lat),
        )


def merge(parts: Sequence[LoadStats]) -> LoadStats:
    """One LoadStats for several phases of the same call (latencies pooled, walls added)."""
    if not parts:
        raise ValueError("nothing to merge")
    recorder = _Recorder()
    for part in parts:
        recorder.latencies_ms += part.latencies_ms
        recorder.sent += part.sent
        recorder.errors.update(part.error_kinds)
    wall = sum(part.wall_s for part in parts)
    first = parts[0]
    return recorder.stats(
        first.mode, wall, concurrency=first.concurrency, rate=first.target_rate_per_s
    )


def make_client(connections: int, timeout_s: float = 60.0) -> httpx.AsyncClient:
    """An httpx client with enough pooled connections for `connections` calls at once."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=timeout_s)


async def run_concurrent(
    client: httpx.AsyncClient,
    call: Call,
    *,
    concurrency: int,
    requests: int | None = None,
    duration_s: float | None = None,
) -> LoadStats:
    """Keep `concurrency` calls in flight until `requests` were sent or `duration_s` passed."""
    if requests is None and duration_s is None:
        raise ValueError("give requests, duration_s or both")
    recorder = _Recorder()
    start = time.perf_counter()
    deadline = None if duration_s is None else start + duration_s
    counter = iter(range(requests if requests is not None else 2**62))

    async def worker() -> None:
        while deadline is None or time.perf_counter() < deadline:
            index = next(counter, None)
            if index is None:
                return
            await recorder.one(client, call, index)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return recorder.stats("concurrency", wall, concurrency=concurrency, rate=None)


async def run_rate(
    client: httpx.AsyncClient,
    call: Call,
    *,
    rate_per_s: float,
    duration_s: float,
    max_in_flight: int = 1000,
) -> LoadStats:
    """Start calls at a steady `rate_per_s` for `duration_s` (open loop), then wait for them.

    A start that would exceed `max_in_flight` is not sent and counts as a `client_backlog` error.
    """
    if rate_per_s <= 0 or duration_s <= 0:
        raise ValueError("rate_per_s and duration_s must be positive")
    recorder = _Recorder()
    tasks: set[asyncio.Task[None]] = set()
    total = max(1, int(rate_per_s * duration_s))
    start = time.perf_counter()
    for index in range(total):
        delay = start + index / rate_per_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) >= max_in_flight:
            recorder.sent += 1
            recorder.errors["client_backlog"] += 1
            continue
        task = asyncio.create_task(recorder.one(client, call, index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    wall = max(time.perf_counter() - start, duration_s)
    return recorder.stats("rate", wall, concurrency=None, rate=rate_per_s)


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    expect: int = 200,
    headers: dict[str, str] | None = None,
) -> Call:
    """A call that POSTs `body` to `url` and reads the whole reply; other statuses fail."""

    async def call(client: httpx.AsyncClient, index: int) -> None:
        reply = await client.post(url, json=body, headers=headers)
        if reply.status_code != expect:
            raise HttpStatusError(reply.status_code)

    return call


def post_stream(url: str, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> Call:
    """A call that POSTs `body` and reads a streamed (SSE) reply to its end."""

    async def call(client: httpx.AsyncClient, index: int) -> None:
        async with client.stream("POST", url, json=body, headers=headers) as reply:
            if reply.status_code != 200:
                raise HttpStatusError(reply.status_code)
            async for _ in reply.aiter_bytes():
                pass

    return call
