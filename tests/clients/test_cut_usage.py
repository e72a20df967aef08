"""A call stopped mid-way (its /v1 client hung up, its run cancelled) may have been billed: it
leaves a usage record at the estimate the admission gate counted, and analytics count it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from orchestratex.store.tables import UsageRecord
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.clients.test_disconnect import SLOW_MS, _leave_mid_call
from tests.waiting import status_ended, until


async def _usage_of(service: Running, thread_id: str) -> list[UsageRecord]:
    async with service.app.state.service.sessions() as session:
        rows = await session.scalars(select(UsageRecord).where(UsageRecord.thread_id == thread_id))
        return list(rows.all())


async def _check_estimated(service: Running, http: httpx.AsyncClient, thread_id: str) -> None:
    """The run ended cancelled with one usage row, an estimate, in the cost analytics."""
    assert (await status_ended(http, thread_id))["status"] == "cancelled"
    rows = await _usage_of(service, thread_id)  # ended and no longer live: all stored
    assert len(rows) == 1, rows
    row = rows[0]
    assert not row.success and not row.cost_known
    assert row.cost_usd > 0, "the provider read the prompt: its input is billed"
    assert row.error is not None and row.error.startswith("cancelled")
    costs = (await http.get("/api/analytics/costs")).json()
    assert costs["total_cost_usd"] == pytest.approx(row.cost_usd)
    assert costs["estimated_cost_usd"] == pytest.approx(row.cost_usd)
    (line,) = costs["by_model"]
    assert (line["calls"], line["unknown_cost_calls"]) == (1, 1)
    assert line["estimated_cost_usd"] == pytest.approx(row.cost_usd)


async def test_a_v1_stream_whose_client_hangs_up_leaves_an_estimated_usage_row(
    service: Running, fake: FakeProviderServer
) -> None:
    fake.options.latency_ms = SLOW_MS
    body: dict[str, Any] = {
        "model": "fake-gpt",
        "stream": True,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Explain CRDTs briefly."}],
    }
    thread_id = await _leave_mid_call(service, fake, "/v1/chat/completions", body)
    headers = {"Authorization": f"Bearer {service.key}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as http:
        await _check_estimated(service, http, thread_id)


async def test_a_run_cancelled_mid_call_leaves_an_estimated_usage_row(
    service: Running, fake: FakeProviderServer
) -> None:
    fake.options.latency_ms = SLOW_MS
    body = {"prompt": "Explain CRDTs briefly.", "model": "fake-gpt", "max_rounds": 1}
    headers = {"Authorization": f"Bearer {service.key}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers) as http:
        submitted = await http.post("/api/orchestrate/prompt", json=body)
        assert submitted.status_code == 202, submitted.text
        thread_id = submitted.json()["thread_id"]
        await until(lambda: fake.stats.in_flight == 1, what="the upstream call open")
        cancelled = await http.post(f"/api/orchestrate/{thread_id}/cancel")
        assert cancelled.status_code == 202, cancelled.text
        await _check_estimated(service, http, thread_id)
