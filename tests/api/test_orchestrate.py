"""Submitting, following, reading and cancelling orchestrations over the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from orchestratex.store.tables import (
    Criticism,
    Evaluation,
    SelectionRecord,
    Thread,
    UsageRecord,
)
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.api.conftest import Api, ApiFactory
from tests.waiting import status_ended


async def test_prompt_runs_to_completion_with_full_detail(api: Api) -> None:
    submitted = await api.client.post(
        "/api/orchestrate/prompt", json={"prompt": "Write a haiku about tea", "max_rounds": 2}
    )
    assert submitted.status_code == 202
    body = submitted.json()
    thread_id = body["thread_id"]
    assert body["status_url"] == f"/api/orchestrate/status/{thread_id}"
    assert thread_id in body["events_url"]

    status = await status_ended(api.client, thread_id)
    assert status["status"] == "completed"
    assert isinstance(status["answer"], str) and "fake provider" in status["answer"]
    assert status["rounds"] == 2
    assert isinstance(status["total_cost_usd"], float) and status["total_cost_usd"] > 0

    detail = (await api.client.get(f"/api/threads/{thread_id}")).json()
    assert detail["prompt"] == "Write a haiku about tea"
    assert [r["round"] for r in detail["rounds"]] == [1, 2]
    first = detail["rounds"][0]
    assert first["score"] is not None
    assert first["evaluations"], "judges' scores are listed per round"
    assert all(e["critique"].startswith("[fake provider critique]") for e in first["evaluations"])
    assert detail["decisions"] and detail["decisions"][0]["reasons"]
    assert {line["purpose"] for line in detail["costs"]} >= {"generate", "judge"}
    assert detail["thread"]["status"] == "completed"

    async with api.service.sessions() as session:
        for table in (UsageRecord, Evaluation, Criticism, SelectionRecord):
            count = await session.scalar(
                select(func.count()).select_from(table).where(table.thread_id == thread_id)
            )
            assert count, f"no {table.__tablename__} rows"
        result = await session.scalar(select(Thread.result).where(Thread.id == thread_id))
    # A round's cost_usd means the same in the detail as in the run's result: answer + judges.
    assert result is not None
    assert [r["cost_usd"] for r in detail["rounds"]] == [r["cost_usd"] for r in result["rounds"]]
    lines = {(c["model"], c["purpose"]): c["cost_usd"] for c in detail["costs"]}
    judging = sum(cost for (_, purpose), cost in lines.items() if purpose == "judge")
    assert judging > 0
    assert sum(r["cost_usd"] - r["answer_cost_usd"] for r in detail["rounds"]) == pytest.approx(
        judging
    )


BAD_BODIES: list[tuple[Any, str]] = [
    ({"prompt": ""}, "invalid_request"),
    ({"prompt": "x" * 200_000}, "invalid_request"),
    ({"prompt": "hi", "max_rounds": 0}, "invalid_request"),
    ({"prompt": "hi", "max_rounds": 11}, "invalid_request"),
    ({"prompt": 123}, "invalid_request"),
    ({"prompt": "hi", "max_rounds": "many"}, "invalid_request"),
    ({"prompt": "hi", "preferences": {"budget_usd": -1}}, "invalid_request"),
    ({"prompt": "hi", "surprise": True}, "invalid_request"),
    (["prompt", "hi"], "invalid_request"),
    ({}, "invalid_request"),
    ({"prompt": "hi", "model": "no-such-model"}, "unknown_model"),
    ({"prompt": "hi", "judges": ["fake-gpt", "nope"]}, "unknown_model"),
    ({"prompt": "hi", "preferences": {"allowed_models": ["ghost"]}}, "unknown_model"),
    # The request contradicts itself: refused before anything runs, not failed at the gate.
    (
        {"prompt": "hi", "model": "fake-gpt", "preferences": {"allowed_models": ["fake-claude"]}},
        "invalid_request",
    ),
    (
        {
            "prompt": "hi",
            "judges": ["fake-gpt"],
            "preferences": {"allowed_models": ["fake-claude"]},
        },
        "invalid_request",
    ),
]


async def test_bad_input_gets_4xx_with_codes(api: Api) -> None:
    for body, code in BAD_BODIES:
        response = await api.client.post("/api/orchestrate/prompt", json=body)
        expected = 404 if code == "unknown_model" else 422
        assert response.status_code == expected, (
            body if len(str(body)) < 200 else "long",
            response,
        )
        assert response.json()["error"]["code"] == code
        assert "x" * 100 not in response.text, "the submitted value is not echoed"

    malformed = await api.client.post(
        "/api/orchestrate/prompt",
        content=b'{"prompt": "hi",',
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"

    huge = await api.client.post(
        "/api/orchestrate/prompt",
        content=b'{"prompt": "' + b"y" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large"

    bad_limit = await api.client.get("/api/threads", params={"limit": "lots"})
    assert bad_limit.status_code == 422
    assert bad_limit.json()["error"]["code"] == "invalid_request"


async def test_unknown_thread_is_404(api: Api) -> None:
    for method, url in [
        ("GET", "/api/orchestrate/status/nope"),
        ("GET", "/api/threads/nope"),
        ("POST", "/api/orchestrate/nope/cancel"),
    ]:
        response = await api.client.request(method, url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "thread_not_found"
    missing_route = await api.client.get("/api/nothing-here")
    assert missing_route.status_code == 404
    assert missing_route.json()["error"]["code"] == "not_found"


async def test_cancel_stops_a_running_thread(api: Api, fake: FakeProviderServer) -> None:
    fake.options.latency_ms = 400
    submitted = await api.client.post(
        "/api/orchestrate/prompt", json={"prompt": "Explain recursion", "max_rounds": 5}
    )
    thread_id = submitted.json()["thread_id"]
    cancelled = await api.client.post(f"/api/orchestrate/{thread_id}/cancel")
    assert cancelled.status_code == 202
    assert cancelled.json()["status"] == "cancelling"

    status = await status_ended(api.client, thread_id)
    assert status["status"] == "cancelled"
    again = await api.client.post(f"/api/orchestrate/{thread_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_running"


async def test_thread_list_search_and_paging(api: Api) -> None:
    ids = []
    for prompt in ("Prove that 2+2=4", "Write a poem about rivers"):
        response = await api.client.post(
            "/api/orchestrate/prompt", json={"prompt": prompt, "max_rounds": 1}
        )
        ids.append(response.json()["thread_id"])
    for thread_id in ids:
        await status_ended(api.client, thread_id)

    page = (await api.client.get("/api/threads")).json()
    assert page["total"] == 2
    assert [t["id"] for t in page["items"]] == ids[::-1], "newest first"
    found = (await api.client.get("/api/threads", params={"q": "RIVERS"})).json()
    assert [t["id"] for t in found["items"]] == [ids[1]]
    second = (await api.client.get("/api/threads", params={"limit": 1, "offset": 1})).json()
    assert [t["id"] for t in second["items"]] == [ids[0]]


async def test_models_health_lists_catalog_and_health(api: Api) -> None:
    response = await api.client.get("/api/orchestrate/models/health")
    assert response.status_code == 200
    body = response.json()
    keys = {m["key"] for m in body["models"]}
    assert "fake-claude" in keys and len(keys) == 6
    assert body["providers"] == {"fake-openai": True, "fake-anthropic": True}
    assert all(m["health"]["circuit"] == "closed" for m in body["models"])


async def test_self_test_reports_each_provider(api_factory: ApiFactory) -> None:
    async with api_factory() as api:
        report = (await api.client.post("/api/orchestrate/test")).json()
    assert report["ok"] is True
    assert {p["provider"] for p in report["providers"]} == {"fake-openai", "fake-anthropic"}
    assert all(p["ok"] and p["latency_ms"] >= 0 for p in report["providers"])

    async with api_factory(models=["fake-claude", "fake-llama"], down=["fake-claude"]) as api:
        report = (await api.client.post("/api/orchestrate/test")).json()
    assert report["ok"] is False
    by_provider = {p["provider"]: p for p in report["providers"]}
    assert by_provider["fake-openai"]["ok"] is True
    assert by_provider["fake-anthropic"]["ok"] is False
    assert by_provider["fake-anthropic"]["error_code"]
