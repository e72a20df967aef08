"""A stream cut short costs what the ledger counted for it, in the usage records too: so the
running total seeded again from those records (a restart, a Redis total that lapsed) is the
total the ledger had, and analytics count the same money."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from orchestratex.runtime.analytics import Scope
from orchestratex.runtime.budgets import BUDGET_KEY
from orchestratex.runtime.settings import Settings
from orchestratex.store.tables import UsageRecord
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.limits_shared.conftest import ask, budget_user, running
from tests.waiting import run_ended

BUDGET = 1.0


@pytest.mark.parametrize("kind", ["local", "redis"])
async def test_the_seed_after_a_restart_is_the_total_the_ledger_had(
    kind: str, tmp_path: Path, redis_url: str, redis: Redis, fake_provider: FakeProviderServer
) -> None:
    fake_provider.options.fail_rate = 1.0
    fake_provider.options.faults = ["cut"]  # every stream drops after its first chunks
    catalog = fake_catalog(fake_provider.openai_base_url)
    settings = Settings(data_dir=tmp_path, redis_url=redis_url if kind == "redis" else None)
    async with running(settings, catalog, role="worker") as service:
        user, _key = await budget_user(service, BUDGET)
        assert user.user_id is not None
        thread_id = await service.submit(ask(None), user=user)
        assert (await run_ended(service, thread_id)).status == "failed"
        counted = await service.spent_usd(user.user_id)
        assert await service.budgets.held_usd(user.user_id) == pytest.approx(0.0)
        async with service.sessions() as session:
            rows = (await session.scalars(select(UsageRecord))).all()
        report = await service.analytics.costs(Scope(user_id=user.user_id), "day")
    assert rows and all(not r.success and not r.cost_known for r in rows), "all cut short"
    assert all(r.cost_usd > 0 for r in rows), "each cut stream was billed for its input"
    assert counted > 0
    assert sum(r.cost_usd for r in rows) == pytest.approx(counted, rel=1e-9)
    assert report.total_cost_usd == pytest.approx(counted, rel=1e-9)
    assert report.estimated_cost_usd == pytest.approx(counted, rel=1e-9)
    # A restart: a fresh in-process ledger, or a Redis total that lapsed, seeds from the store.
    if kind == "redis":
        await redis.delete(f"{BUDGET_KEY}{user.user_id}:spent")
    async with running(settings, catalog, role="worker") as again:
        seeded = await again.spent_usd(user.user_id)
    assert seeded == pytest.approx(counted, rel=1e-9)
