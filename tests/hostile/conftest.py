"""Fixtures: a served service with auth on, one user's finished thread, and an intactness check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hostile.server import Served, bearer, serve
from tests.waiting import status_ended


@dataclass
class Target:
    """The service under attack, a user's client, and a stored thread that must stay unharmed."""

    served: Served
    http: httpx.AsyncClient
    key: str
    thread_id: str
    snapshot: dict[str, Any]

    async def assert_intact(self) -> None:
        """Still serving, and the stored thread is unchanged."""
        health = await self.http.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        detail = await self.http.get(f"/api/threads/{self.thread_id}")
        assert detail.status_code == 200
        assert detail.json() == self.snapshot
        listed = await self.http.get("/api/threads")
        assert listed.status_code == 200
        assert self.thread_id in [t["id"] for t in listed.json()["items"]]


async def submit(http: httpx.AsyncClient, prompt: str = "Name three prime numbers") -> str:
    response = await http.post("/api/orchestrate/prompt", json={"prompt": prompt, "max_rounds": 1})
    assert response.status_code == 202, response.text
    thread_id: str = response.json()["thread_id"]
    return thread_id


@pytest.fixture
async def target(tmp_path: Path) -> AsyncIterator[Target]:
    with serve(tmp_path) as served:
        key = await served.new_key("mallory")
        async with httpx.AsyncClient(
            base_url=served.base_url, headers=bearer(key), trust_env=False, timeout=30
        ) as http:
            thread_id = await submit(http)
            await status_ended(http, thread_id)
            snapshot = (await http.get(f"/api/threads/{thread_id}")).json()
            assert snapshot["thread"]["status"] == "completed"
            yield Target(served, http, key, thread_id, snapshot)
