"""Budget holds: concurrent submissions never hold more than a user's budget, across two
instances sharing Redis and within one process; a finished run frees what it did not spend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from orchestratex.api.app import create_app
from orchestratex.core.errors import BudgetExceededError
from orchestratex.runtime.auth import ANONYMOUS
from orchestratex.runtime.budgets import RedisBudgets
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.limits_shared.conftest import ask, budget_user, held_budget, running, wait_ended

BUDGET = 0.05
WANTED = 0.02
SUBMISSIONS = 10
SLOW_MS = 1000  # runs outlast the burst of submissions, so their holds all overlap


async def test_a_release_during_the_spent_read_is_still_counted(redis: Redis) -> None:
    budgets = RedisBudgets(redis)

    async def nothing_spent() -> float:
        return 0.0

    assert await budgets.hold("u", "a", budget_usd=1.0, wanted_usd=0.6, spent=nothing_spent) == 0.6

    async def stale_read() -> float:
        # Run "a" ends (its 0.5 USD written, its hold released) while this read is in flight,
        # and the read does not see the new usage yet.
        await budgets.release("u", "a", cost_usd=0.5)
        return 0.0

    granted = await budgets.hold("u", "b", budget_usd=1.0, wanted_usd=0.6, spent=stale_read)
    assert granted == pytest.approx(0.5)

    async def fresh_read() -> float:
        return 0.5

    with pytest.raises(BudgetExceededError) as caught:
        await budgets.hold("u", "c", budget_usd=1.0, wanted_usd=0.1, spent=fresh_read)
    assert caught.value.code == "budget_exceeded"
    assert await budgets.held_usd("u") == pytest.approx(0.5)


async def test_a_hold_lapses_when_its_run_never_ends(redis: Redis) -> None:
    budgets = RedisBudgets(redis, hold_s=0.3)

    async def nothing_spent() -> float:
        return 0.0

    assert await budgets.hold("u", "a", budget_usd=1.0, wanted_usd=None, spent=nothing_spent) == 1
    with pytest.raises(BudgetExceededError):
        await budgets.hold("u", "b", budget_usd=1.0, wanted_usd=None, spent=nothing_spent)
    await asyncio.sleep(0.4)  # the runner of "a" died: its hold lapses
    assert await budgets.hold("u", "b", budget_usd=1.0, wanted_usd=0.3, spent=nothing_spent) == 0.3


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_instances_share_budget_holds(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    redis: Redis,
    fake_provider: FakeProviderServer,
) -> None:
    fake_provider.options.latency_ms = SLOW_MS
    catalog = fake_catalog(fake_provider.openai_base_url)
    settings = Settings(data_dir=tmp_path, database_url=database_url, redis_url=redis_url)
    # Role "worker" runs submitted runs in its own process while sharing Redis.
    async with (
        running(settings, catalog, role="worker") as a,
        running(settings, catalog, role="worker") as b,
    ):
        user, _key = await budget_user(a, BUDGET)
        assert user.user_id is not None
        services = [a, b]
        outcomes = await asyncio.gather(
            *(services[i % 2].submit(ask(WANTED), user=user) for i in range(SUBMISSIONS)),
            return_exceptions=True,
        )
        accepted = [o for o in outcomes if isinstance(o, str)]
        refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
        assert len(accepted) + len(refused) == SUBMISSIONS, outcomes
        grants = sorted([await held_budget(a, t) for t in accepted])
        held_now = await b.budgets.held_usd(user.user_id)
        statuses = [await wait_ended(a, t, ANONYMOUS) for t in accepted]
        held_after = await a.budgets.held_usd(user.user_id)
        again = await b.submit(ask(WANTED), user=user)
        regrant = await held_budget(b, again)
        await wait_ended(b, again, ANONYMOUS)
        spent = await a.spent_usd(user.user_id)
    assert grants == pytest.approx([0.01, 0.02, 0.02])
    assert sum(grants) <= BUDGET + 1e-9
    assert held_now == pytest.approx(sum(grants))
    assert all(e.code == "budget_exceeded" for e in refused)
    assert statuses == ["completed"] * len(accepted)
    assert held_after == pytest.approx(0.0)
    # What the finished runs did not spend is free again.
    assert 0 < spent < BUDGET - WANTED
    assert regrant == pytest.approx(WANTED)


async def test_one_process_holds_budgets_and_answers_402(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    fake_provider.options.latency_ms = SLOW_MS
    catalog = fake_catalog(fake_provider.openai_base_url)
    app = create_app(Settings(data_dir=tmp_path), catalog=catalog)
    async with app.router.lifespan_context(app):
        service = app.state.service
        user, key = await budget_user(service, BUDGET)
        headers = {"Authorization": f"Bearer {key}"}
        body = ask(WANTED).model_dump(mode="json", exclude_none=True)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(
                    client.post("/api/orchestrate/prompt", json=body, headers=headers)
                    for _ in range(SUBMISSIONS)
                )
            )
            accepted = [r.json()["thread_id"] for r in responses if r.status_code == 202]
            refused = [r for r in responses if r.status_code != 202]
            grants = sorted([await held_budget(service, t) for t in accepted])
            for thread_id in accepted:
                await wait_ended(service, thread_id, ANONYMOUS)
            assert user.user_id is not None
            held_after = await service.budgets.held_usd(user.user_id)
            again = await client.post("/api/orchestrate/prompt", json=body, headers=headers)
            assert again.status_code == 202, again.text
            regrant = await held_budget(service, again.json()["thread_id"])
            await wait_ended(service, again.json()["thread_id"], ANONYMOUS)
    assert grants == pytest.approx([0.01, 0.02, 0.02])
    assert len(refused) == SUBMISSIONS - 3
    assert all(r.status_code == 402 for r in refused)
    assert all(r.json()["error"]["code"] == "budget_exceeded" for r in refused)
    assert "held by runs in progress" in refused[0].json()["error"]["message"]
    assert held_after == 0.0
    assert regrant == pytest.approx(WANTED)
