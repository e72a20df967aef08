"""Fixtures: the fake provider server as every provider, and the app over ASGI with its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from orchestratex.api.app import create_app
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.databases import assert_backend, on_both_backends


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service


ApiFactory = Callable[..., AbstractAsyncContextManager[Api]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_both_backends(metafunc)


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with run_fake_provider(FakeProviderOptions(seed=1)) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def api_factory(settings: Settings, fake: FakeProviderServer) -> ApiFactory:
    """Opens the app (lifespan run by hand) with an httpx client; may be opened several times."""

    @asynccontextmanager
    async def open_api(**catalog_options: Any) -> AsyncIterator[Api]:
        catalog = fake_catalog(fake.openai_base_url, **catalog_options)
        app = create_app(settings, catalog=catalog)
        async with app.router.lifespan_context(app):
            assert_backend(app.state.service, settings.database_url)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost"
            ) as client:
                yield Api(app, client)

    return open_api


@pytest.fixture
async def api(api_factory: ApiFactory) -> AsyncIterator[Api]:
    async with api_factory() as opened:
        yield opened
