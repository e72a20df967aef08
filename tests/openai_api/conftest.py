"""The service in a real uvicorn on a free loopback port, the fake provider as every provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
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
from tests.servers import uvicorn_on_loopback


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_both_backends(metafunc)


@dataclass
class Served:
    app: FastAPI
    base_url: str
    key: NewKey

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def client(self, key: str | None = None) -> openai.AsyncOpenAI:
        """The official SDK pointed at the service (no retries: failures show at once)."""
        return openai.AsyncOpenAI(
            base_url=f"{self.base_url}/v1", api_key=key or self.key.key, max_retries=0
        )

    def http(self, key: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key or self.key.key}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30.0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with run_fake_provider(FakeProviderOptions(seed=1)) as server:
        yield server


@pytest.fixture
def catalog_options() -> dict[str, Any]:
    """Keyword arguments for fake_catalog; a test may parametrize this name to change them."""
    return {}


@pytest.fixture
async def served(
    tmp_path: Path,
    database_url: str | None,
    fake: FakeProviderServer,
    catalog_options: dict[str, Any],
) -> AsyncIterator[Served]:
    catalog = fake_catalog(fake.openai_base_url, **catalog_options)
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url), catalog=catalog)
    async with uvicorn_on_loopback(app) as address:
        service: Service = app.state.service
        assert_backend(service, database_url)
        async with service.sessions() as session:
            key = await create_key(session, name="alice")
        yield Served(app, f"http://{address}", key)
