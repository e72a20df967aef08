"""A running service (uvicorn on a free loopback port, SQLite) backed by the fake provider.

The clients under test are the official `openai` and `anthropic` SDKs and `langchain-openai`;
each test asserts what reached the fake upstream (`FakeProviderServer.requests` / `stats`).
Sync clients run in a worker thread (`asyncio.to_thread`) so the service keeps serving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from orchestratex.api.app import create_app
from orchestratex.runtime.auth import create_key
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.servers import uvicorn_on_loopback


@dataclass
class Running:
    """The service's base URL and an API key of a user."""

    base_url: str
    key: str
    app: FastAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with run_fake_provider(FakeProviderOptions(seed=1)) as server:
        yield server


@pytest.fixture
def settings_options() -> dict[str, Any]:
    """Extra Settings fields; a test may parametrize this name to change them."""
    return {}


async def running_service(app: FastAPI) -> AsyncIterator[Running]:
    async with uvicorn_on_loopback(app) as address:
        async with app.state.service.sessions() as session:
            key = await create_key(session, name="client-tests")
        yield Running(f"http://{address}", key.key, app)


@pytest.fixture
async def service(
    tmp_path: Path, fake: FakeProviderServer, settings_options: dict[str, Any]
) -> AsyncIterator[Running]:
    settings = Settings(data_dir=tmp_path, **settings_options)
    app = create_app(settings, catalog=fake_catalog(fake.openai_base_url))
    async for running in running_service(app):
        fake.reset_stats()
        yield running
