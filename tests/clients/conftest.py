"""A running service (uvicorn on a free loopback port, SQLite) backed by the fake provider.

The clients under test are the official `openai` and `anthropic` SDKs and `langchain-openai`;
each test asserts what reached the fake upstream (`FakeProviderServer.requests` / `stats`).
Sync clients run in a worker thread (`asyncio.to_thread`) so the service keeps serving.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
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
from tests.waiting import uvicorn_started


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


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await uvicorn_started(server, task)
    return server, task, sock, int(sock.getsockname()[1])


async def running_service(app: FastAPI) -> AsyncIterator[Running]:
    server, task, sock, port = await serve(app)
    try:
        async with app.state.service.sessions() as session:
            key = await create_key(session, name="client-tests")
        yield Running(f"http://127.0.0.1:{port}", key.key, app)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def service(
    tmp_path: Path, fake: FakeProviderServer, settings_options: dict[str, Any]
) -> AsyncIterator[Running]:
    settings = Settings(data_dir=tmp_path, **settings_options)
    app = create_app(settings, catalog=fake_catalog(fake.openai_base_url))
    async for running in running_service(app):
        fake.reset_stats()
        yield running
