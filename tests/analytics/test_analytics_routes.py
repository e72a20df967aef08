"""The analytics routes after real runs: figures match the usage records, users are isolated."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from orchestratex.runtime.auth import NewKey
from orchestratex.store.tables import UsageRecord
from tests.analytics.conftest import Api, bearer, run_prompt

ENDPOINTS = ("models", "costs", "selection-accuracy", "usage", "dashboard")


async def _get(api: Api, key: NewKey, path: str, **params: str) -> Any:
    response = await api.client.get(f"/api/analytics/{path}", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


async def _records(api: Api, user_id: str) -> tuple[int, float, int, int]:
    async with api.service.sessions() as session:
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.sum(UsageRecord.cost_usd),
                    func.sum(UsageRecord.input_tokens),
                    func.sum(UsageRecord.output_tokens),
                ).where(UsageRecord.user_id == user_id)
            )
        ).one()
    return int(row[0]), float(row[1] or 0.0), int(row[2] or 0), int(row[3] or 0)


async def test_figures_after_two_runs_and_per_user_isolation(api: Api) -> None:
    alice, bob = await api.key("alice"), await api.key("bob")
    admin = await api.key("root", admin=True)
    await run_prompt(api, alice, "Write a Python function that reverses a list", 2)
    await run_prompt(api, alice, "Write a short poem about autumn leaves", 1)
    calls, cost, tin, tout = await _records(api, alice.user_id)
    assert calls > 0 and cost > 0

    costs = await _get(api, alice, "costs")
    assert costs["bucket"] == "day"
    assert costs["total_cost_usd"] == pytest.approx(cost)
    assert sum(b["cost_usd"] for b in costs["by_bucket"]) == pytest.approx(cost)
    assert sum(m["cost_usd"] for m in costs["by_model"]) == pytest.approx(cost)
    assert sum(m["calls"] for m in costs["by_model"]) == calls
    for period in ("hour", "week"):
        other = await _get(api, alice, "costs", period=period)
        assert other["bucket"] == period
        assert sum(b["cost_usd"] for b in other["by_bucket"]) == pytest.approx(cost)

    models = await _get(api, alice, "models")
    assert sum(row["rounds"] for row in models) == 3, "2 rounds + 1 round answered"
    assert sum(row["calls"] for row in models) == calls
    assert all(row["mean_score"] is not None for row in models if row["rounds"])

    usage = await _get(api, alice, "usage")
    assert usage["threads"] == 2 and usage["threads_by_status"] == {"completed": 2}
    assert usage["calls"] == calls == usage["successful_calls"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (tin, tout)
    assert usage["p50_latency_ms"] is not None

    selection = await _get(api, alice, "selection-accuracy")
    assert selection["decisions"] == 2
    assert sum(selection["threshold_rounds"].values()) == 2

    board = await _get(api, alice, "dashboard", period="hour")
    assert board["usage"] == usage
    assert board["costs"]["total_cost_usd"] == pytest.approx(cost)
    assert board["costs"]["bucket"] == "hour"
    assert board["selection"] == selection

    # Bob sees none of Alice's figures.
    assert await _get(api, bob, "models") == []
    bob_costs = await _get(api, bob, "costs")
    assert bob_costs["total_cost_usd"] == 0 and bob_costs["by_model"] == []
    bob_usage = await _get(api, bob, "usage")
    assert bob_usage["threads"] == 0 and bob_usage["calls"] == 0
    assert (await _get(api, bob, "selection-accuracy"))["decisions"] == 0
    assert (await _get(api, bob, "dashboard"))["usage"]["input_tokens"] == 0
    peek = await api.client.get(
        "/api/analytics/usage", params={"user_id": alice.user_id}, headers=bearer(bob)
    )
    assert peek.status_code == 403

    # An admin sees everyone's, or one user's on request.
    assert (await _get(api, admin, "usage"))["calls"] == calls
    only_bob = await _get(api, admin, "costs", user_id=bob.user_id)
    assert only_bob["total_cost_usd"] == 0
    only_alice = await _get(api, admin, "costs", user_id=alice.user_id)
    assert only_alice["total_cost_usd"] == pytest.approx(cost)

    # A window after the runs holds nothing.
    future = await _get(api, alice, "usage", since="2999-01-01T00:00:00")
    assert future["calls"] == 0 and future["threads"] == 0


async def test_query_parameters_are_validated(api: Api) -> None:
    key = await api.key("carol")
    bad = [
        ("costs", {"period": "month"}),
        ("dashboard", {"period": "fortnight"}),
        ("usage", {"since": "yesterday"}),
        ("models", {"until": "2026-13-01"}),
        ("costs", {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}),
    ]
    for path, params in bad:
        response = await api.client.get(
            f"/api/analytics/{path}", params=params, headers=bearer(key)
        )
        assert response.status_code == 422, (path, params, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
    for path in ENDPOINTS:
        denied = await api.client.get(f"/api/analytics/{path}")
        assert denied.status_code == 401


async def test_a_run_just_answered_is_in_the_figures_read_right_after(api: Api) -> None:
    """Read your writes: a /v1 reply is sent when the run ends, before its events are stored;
    analytics read right after must still count it."""
    key = await api.key("quick")
    for n in range(1, 6):
        body = {"model": "fake-gpt", "messages": [{"role": "user", "content": f"hi {n}"}]}
        replied = await api.client.post("/v1/chat/completions", json=body, headers=bearer(key))
        assert replied.status_code == 200, replied.text
        usage = (await api.client.get("/api/analytics/usage", headers=bearer(key))).json()
        assert (usage["threads"], usage["calls"]) == (n, n), usage
