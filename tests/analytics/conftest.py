"""The app over ASGI (lifespan run by hand) with the fake provider as every provider, and keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from orchestratex.api.app import create_app
from orchestratex.runtime.auth import NewKey, create_key
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.databases import assert_backend, on_both_backends
from tests.waiting import status_ended


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_both_backends(metafunc)


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    async def key(self, name: str, *, admin: bool = False) -> NewKey:
        async with self.service.sessions() as session:
            return await create_key(session, name=name, is_admin=admin)


def bearer(key: NewKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {key.key}"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with run_fake_provider(FakeProviderOptions(seed=1)) as server:
        yield server


@pytest.fixture
async def api(
    tmp_path: Path, database_url: str | None, fake: FakeProviderServer
) -> AsyncIterator[Api]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    app = create_app(settings, catalog=fake_catalog(fake.openai_base_url))
    async with app.router.lifespan_context(app):
        assert_backend(app.state.service, database_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield Api(app, client)


async def run_prompt(api: Api, key: NewKey, prompt: str, max_rounds: int) -> str:
    """Submit through the API and wait until the thread has ended; returns its id."""
    submitted = await api.client.post(
        "/api/orchestrate/prompt",
        json={"prompt": prompt, "max_rounds": max_rounds},
        headers=bearer(key),
    )
    assert submitted.status_code == 202, submitted.text
    thread_id: str = submitted.json()["thread_id"]
    status = await status_ended(api.client, thread_id, headers=bearer(key))
    assert status["status"] == "completed", status
    return thread_id
