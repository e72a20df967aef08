"""Fixtures: a real redis-server (Debian package) and services on the fake provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from orchestratex.core.orchestration import OrchestrationRequest, Preferences
from orchestratex.providers.catalog import Catalog
from orchestratex.runtime.auth import Principal, create_key
from orchestratex.runtime.service import Role, Service
from orchestratex.runtime.settings import Settings
from tests.servers import redis_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            pytest.skip("no redis-server binary (Debian package redis-server)")
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client on an emptied database."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@asynccontextmanager
async def running(
    settings: Settings, catalog: Catalog, role: Role = "api"
) -> AsyncIterator[Service]:
    service = Service(settings, catalog=catalog, requests_per_minute=100_000, role=role)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def budget_user(service: Service, budget_usd: float) -> tuple[Principal, str]:
    """A user with a budget: its principal and its API key."""
    async with service.sessions() as session:
        made = await create_key(session, name="budgeted", budget_usd=budget_usd)
    return Principal(made.user_id, made.name, False, budget_usd), made.key


def ask(budget_usd: float | None) -> OrchestrationRequest:
    return OrchestrationRequest(
        prompt="Add two and three.",
        max_rounds=1,
        preferences=Preferences(budget_usd=budget_usd),
    )
