"""The per-user request limits, shared by two instances through a real Redis: orchestrations
under `requests_per_minute`, single-model passthroughs under their own
`passthrough_requests_per_minute`, each user's count their own."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from orchestratex.runtime.auth import Principal
from orchestratex.runtime.ratelimit import RequestRateLimitedError
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.limits_shared.conftest import running

ALICE = Principal("alice-id", "alice", False, None)
BOB = Principal("bob-id", "bob", False, None)


async def test_passthroughs_have_their_own_limit_across_instances(
    tmp_path: Path, redis_url: str, redis: Redis, fake_provider: FakeProviderServer
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    settings = Settings(data_dir=tmp_path, redis_url=redis_url, passthrough_requests_per_minute=3)
    async with running(settings, catalog) as a, running(settings, catalog) as b:
        for quotas in (a.quotas, b.quotas, a.quotas):
            await quotas.count_request(ALICE, passthrough=True)
        with pytest.raises(RequestRateLimitedError) as limited:
            await b.quotas.count_request(ALICE, passthrough=True)
        assert 0 < limited.value.retry_after_s <= 60
        assert "at most 3 requests per 60 s" in str(limited.value)
        # Orchestrations count apart (the fixture's limit is 100,000), and so does another user.
        await a.quotas.count_request(ALICE)
        await b.quotas.count_request(BOB, passthrough=True)


async def test_without_a_passthrough_limit_passthroughs_are_not_counted(
    tmp_path: Path, redis_url: str, redis: Redis, fake_provider: FakeProviderServer
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    settings = Settings(data_dir=tmp_path, redis_url=redis_url)
    async with running(settings, catalog) as a:
        a.quotas.set_limits(1, None)
        for _ in range(5):
            await a.quotas.count_request(ALICE, passthrough=True)
        await a.quotas.count_request(ALICE)
        with pytest.raises(RequestRateLimitedError):
            await a.quotas.count_request(ALICE)
    assert await redis.keys("*passthrough*") == []
