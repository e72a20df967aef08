"""Budgets hold per call: however a user asks (concurrent runs, judge lists, forced models,
/v1 with a large max_tokens), what they spend never exceeds their budget, across two instances
sharing Redis and within one process; once nothing is left, requests get 402 and nothing is
stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, update

from orchestratex.api.app import create_app
from orchestratex.core.errors import BudgetExceededError
from orchestratex.runtime.budgets import LocalBudgets, RedisBudgets
from orchestratex.runtime.settings import Settings
from orchestratex.store.tables import Thread, User
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.limits_shared.conftest import ask, budget_user, running
from tests.waiting import run_ended, until

BUDGET = 0.003
SUBMISSIONS = 12


async def _spent(value: float) -> float:
    return value


@pytest.mark.parametrize("kind", ["local", "redis"])
async def test_ledger_holds_then_counts_the_real_cost(kind: str, redis: Redis) -> None:
    budgets = LocalBudgets() if kind == "local" else RedisBudgets(redis)
    reads: list[float] = []

    async def from_db() -> float:
        reads.append(0.25)
        return 0.25

    assert await budgets.hold("u", "a", budget_usd=1.0, wanted_usd=0.5, spent=from_db) == 0.5
    assert await budgets.hold("u", "b", budget_usd=1.0, wanted_usd=0.5, spent=from_db) == 0.25
    with pytest.raises(BudgetExceededError) as caught:
        await budgets.hold("u", "c", budget_usd=1.0, wanted_usd=0.1, spent=from_db)
    assert "held by calls in progress" in caught.value.message
    await budgets.release("u", "a", cost_usd=0.1)  # it cost less than it held
    assert await budgets.held_usd("u") == pytest.approx(0.25)
    assert await budgets.spent_usd("u", from_db) == pytest.approx(0.35)
    assert await budgets.hold("u", "c", budget_usd=1.0, wanted_usd=0.3, spent=from_db) == (
        pytest.approx(0.3)
    )
    assert reads == [0.25], "the database is read once, to seed the running total"


async def _none_held(budgets: RedisBudgets) -> bool:
    return await budgets.held_usd("u") == 0  # a Redis expiry: no event to await


async def test_a_redis_hold_lapses_when_its_holder_never_ends(redis: Redis) -> None:
    budgets = RedisBudgets(redis, hold_s=0.3)
    assert await budgets.hold("u", "a", budget_usd=1.0, wanted_usd=None, spent=lambda: _spent(0))
    with pytest.raises(BudgetExceededError):
        await budgets.hold("u", "b", budget_usd=1.0, wanted_usd=None, spent=lambda: _spent(0))
    await until(lambda: _none_held(budgets), what="the hold lapsed", timeout_s=5)
    granted = await budgets.hold("u", "b", budget_usd=1.0, wanted_usd=0.3, spent=lambda: _spent(0))
    assert granted == pytest.approx(0.3)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_instances_never_spend_more_than_the_budget(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    redis: Redis,
    fake_provider: FakeProviderServer,
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    settings = Settings(data_dir=tmp_path, database_url=database_url, redis_url=redis_url)
    async with (
        running(settings, catalog, role="worker") as a,
        running(settings, catalog, role="worker") as b,
    ):
        user, _key = await budget_user(a, BUDGET)
        assert user.user_id is not None
        services = [a, b]
        outcomes = await asyncio.gather(
            *(services[i % 2].submit(ask(None), user=user) for i in range(SUBMISSIONS)),
            return_exceptions=True,
        )
        accepted = [o for o in outcomes if isinstance(o, str)]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert all(isinstance(e, BudgetExceededError) for e in refused), refused
        assert len(accepted) > 1, "a budgeted user runs several requests at once"
        for thread_id in accepted:
            await run_ended(a, thread_id)
        spent = await a.store.user_spent(user.user_id)
        held_after = await b.budgets.held_usd(user.user_id)
        with pytest.raises(BudgetExceededError):
            costly = ask(None).model_copy(update={"model": "fake-claude"})
            for _ in range(50):  # keep asking: the budget runs out, then every ask is refused
                await run_ended(b, await b.submit(costly, user=user))
        final = await a.store.user_spent(user.user_id)
    assert 0 < spent <= BUDGET + 1e-12
    assert final <= BUDGET + 1e-12
    assert held_after == pytest.approx(0.0)


async def test_no_route_or_field_spends_past_the_budget_and_402_stores_nothing(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    app = create_app(Settings(data_dir=tmp_path, requests_per_minute=10_000), catalog=catalog)
    models = [m.key for m in catalog.available()]
    async with app.router.lifespan_context(app):
        service = app.state.service
        user, key = await budget_user(service, BUDGET)
        assert user.user_id is not None
        headers = {"Authorization": f"Bearer {key}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            amplified = {"prompt": "Add two and three.", "max_rounds": 3, "judges": models[:5]}
            forced = {"prompt": "Write a long essay.", "model": "fake-claude", "max_rounds": 2}
            chat = {
                "model": "fake-claude",
                "max_tokens": 4000,
                "messages": [{"role": "user", "content": "Write a very long essay."}],
            }
            calls = [client.post("/api/orchestrate/prompt", json=amplified, headers=headers)]
            calls += [client.post("/api/orchestrate/prompt", json=forced, headers=headers)]
            calls += [client.post("/v1/chat/completions", json=chat, headers=headers)] * 4
            calls += [
                client.post("/v1/chat/completions", json={**chat, "stream": True}, headers=headers)
            ] * 2
            responses = await asyncio.gather(*calls)
            for response in responses:
                assert response.status_code in (200, 202, 402), response.text
            for response in responses:
                if response.status_code == 202:
                    await run_ended(service, response.json()["thread_id"])
            spent = await service.store.user_spent(user.user_id)
            for _ in range(30):  # spend what is left on the expensive model, until refused
                done = await client.post("/v1/chat/completions", json=chat, headers=headers)
                if done.status_code == 402:
                    break
            final = await service.store.user_spent(user.user_id)
            # Leave less than any model's shortest answer: every route now refuses up front.
            async with service.sessions() as session, session.begin():
                await session.execute(
                    update(User).where(User.id == user.user_id).values(budget_usd=final + 1e-9)
                )
            async with service.sessions() as session:
                threads_before = await session.scalar(select(func.count()).select_from(Thread))
            refused_api = await client.post(
                "/api/orchestrate/prompt", json={"prompt": "one more"}, headers=headers
            )
            refused_v1 = await client.post("/v1/chat/completions", json=chat, headers=headers)
            async with service.sessions() as session:
                threads_after = await session.scalar(select(func.count()).select_from(Thread))
    assert 0 < spent <= BUDGET + 1e-12
    assert final <= BUDGET + 1e-12
    assert refused_api.status_code == 402, refused_api.text
    assert refused_api.json()["error"]["code"] == "budget_exceeded"
    assert refused_v1.status_code == 402, refused_v1.text
    assert refused_v1.json()["error"]["code"] == "budget_exceeded"
    assert threads_after == threads_before, "a refused request stores nothing"


async def test_a_call_asking_past_its_models_output_limit_holds_only_that_limit(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    """fake-claude writes at most 8,192 tokens (its catalog `max_output_tokens`): a call asking
    for 200,000 is sent asking for 8,192, and holds what 8,192 can cost, not the user's whole
    budget, so a small request beside it still fits."""
    fake_provider.options.latency_ms = 1500.0  # the big call stays open while we look
    catalog = fake_catalog(fake_provider.openai_base_url)
    limit = catalog.get("fake-claude").max_output_tokens
    price = catalog.price("fake-claude")
    assert limit == 8192 and price is not None
    most_output_usd = limit * price.output_per_mtok / 1_000_000
    app = create_app(Settings(data_dir=tmp_path, requests_per_minute=10_000), catalog=catalog)
    async with app.router.lifespan_context(app):
        service = app.state.service
        user, key = await budget_user(service, 1.0)
        assert user.user_id is not None
        uid = user.user_id
        headers = {"Authorization": f"Bearer {key}"}
        messages = [{"role": "user", "content": "Write a very long essay."}]
        big_body = {"model": "fake-claude", "max_tokens": 200_000, "messages": messages}
        small_body = {"model": "fake-llama", "max_tokens": 100, "messages": messages}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            big = asyncio.create_task(client.post("/v1/messages", json=big_body, headers=headers))
            held = await until(lambda: service.budgets.held_usd(uid), what="the big call's hold")
            small = await client.post("/v1/chat/completions", json=small_body, headers=headers)
            answered = await big
    assert most_output_usd < held < most_output_usd + 0.01, held
    assert small.status_code == 200, small.text
    assert answered.status_code == 200, answered.text
    sent = [r["body"]["max_tokens"] for r in fake_provider.requests if r["path"] == "/v1/messages"]
    assert sent == [limit], "the call asks for what its hold paid for"
