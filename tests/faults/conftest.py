"""Fixtures: a Service on the tapped fake provider, and helpers to run and read back threads.

The usage-accounting tests (test_fault_storm.py) run on SQLite and on PostgreSQL; the rest on
SQLite only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.auth import ANONYMOUS
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.store.tables import EventRecord, Response, Thread, UsageRecord
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions
from tests.databases import assert_backend, on_both_backends
from tests.faults.tap import TappedProvider, run_tapped_provider
from tests.waiting import until

TERMINAL = ("completed", "failed", "cancelled", "interrupted")
TERMINAL_EVENTS = ("completed", "failed", "cancelled")

ServiceFactory = Callable[..., AbstractAsyncContextManager[Service]]
BOTH_BACKENDS = ("test_fault_storm",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__.rpartition(".")[2] in BOTH_BACKENDS:
        on_both_backends(metafunc)


@pytest.fixture
async def tapped() -> AsyncIterator[TappedProvider]:
    """The fake provider behind the recording tap; tests set its options."""
    async with run_tapped_provider(FakeProviderOptions(seed=1)) as server:
        yield server


@pytest.fixture
def open_service(
    tmp_path: Path, database_url: str | None, tapped: TappedProvider
) -> ServiceFactory:
    """Starts a Service on the tapped provider (catalog options passed to fake_catalog)."""

    @asynccontextmanager
    async def opened(
        *, settings_options: dict[str, Any] | None = None, **catalog_options: Any
    ) -> AsyncIterator[Service]:
        catalog = fake_catalog(tapped.openai_base_url, **catalog_options)
        settings = Settings(
            data_dir=tmp_path, database_url=database_url, **(settings_options or {})
        )
        service = Service(settings, catalog=catalog, requests_per_minute=100_000)
        await service.start()
        try:
            assert_backend(service, database_url)
            yield service
        finally:
            await service.stop()

    return opened


async def wait_finished(
    service: Service, thread_id: str, ended: asyncio.Event, timeout_s: float = 60.0
) -> str:
    """Wait until the thread has ended; returns its status. Woken by `ended` (its terminal
    event went by on the bus); the status is re-read each second even so, in case the bus
    dropped the event for a lagging subscriber."""

    async def finished() -> str | None:
        found = await service.status(thread_id, user=ANONYMOUS)
        assert found is not None
        if found.status in TERMINAL and not found.live:
            return found.status
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), timeout=1.0)
        return None

    return await until(finished, what=f"thread {thread_id} ended", timeout_s=timeout_s)


async def run_all(
    service: Service, requests: Sequence[OrchestrationRequest], concurrency: int
) -> list[str]:
    """Submit every request through Service.submit, at most `concurrency` runs at a time.

    A bus subscription wakes the waiter of a thread when its terminal event goes by; the
    status itself is always read back through Service.status.
    """
    gate = asyncio.Semaphore(concurrency)
    ended: dict[str, asyncio.Event] = {}
    feed = service.bus.subscribe(lambda event: event.type in TERMINAL_EVENTS)

    async def follow() -> None:
        async for event in feed:
            ended.setdefault(event.thread_id, asyncio.Event()).set()

    async def one(request: OrchestrationRequest) -> str:
        async with gate:
            thread_id = await service.submit(request, user=ANONYMOUS)
            signal = ended.setdefault(thread_id, asyncio.Event())
            await wait_finished(service, thread_id, signal)
            return thread_id

    follower = asyncio.create_task(follow())
    try:
        return list(await asyncio.gather(*(one(r) for r in requests)))
    finally:
        service.bus.unsubscribe(feed)
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


@dataclass
class Stored:
    """Everything the store holds about the threads of a test."""

    threads: dict[str, Thread]
    usage: list[UsageRecord]
    events: list[EventRecord]
    responses: list[Response]

    def events_of(self, thread_id: str, kind: str | None = None) -> list[EventRecord]:
        found = [e for e in self.events if e.thread_id == thread_id]
        return [e for e in found if kind is None or e.type == kind]

    def usage_of(self, thread_id: str) -> list[UsageRecord]:
        return [u for u in self.usage if u.thread_id == thread_id]


async def read_store(service: Service) -> Stored:
    async with service.sessions() as session:
        threads = (await session.scalars(select(Thread))).all()
        usage = (await session.scalars(select(UsageRecord))).all()
        events = (await session.scalars(select(EventRecord).order_by(EventRecord.seq))).all()
        responses = (await session.scalars(select(Response))).all()
    return Stored({t.id: t for t in threads}, list(usage), list(events), list(responses))


def usage_key(row: UsageRecord) -> tuple[object, ...]:
    """A usage row as comparable data (cost to 12 places)."""
    return (
        row.round,
        row.model,
        row.provider,
        row.purpose,
        row.input_tokens,
        row.output_tokens,
        round(row.cost_usd, 12),
        row.success,
        row.error,
    )


def call_key(payload: dict[str, Any]) -> tuple[object, ...]:
    """A model_call event payload as the same comparable data."""
    usage = payload["usage"]
    return (
        payload["round"],
        payload["model"],
        payload["provider"],
        payload["purpose"],
        usage["input_tokens"],
        usage["output_tokens"],
        round(payload["cost_usd"], 12),
        payload["success"],
        payload["error"],
    )
