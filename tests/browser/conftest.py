"""A real service (uvicorn on loopback, the fake provider as every provider) and headless Chromium.

Chromium is Debian's package (`apt-get install chromium`); Playwright never downloads a browser.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright

from orchestratex.api.app import create_app
from orchestratex.runtime.auth import create_key
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider
from orchestratex.web.routes import BUNDLE
from tests.servers import served_protocol
from tests.waiting import status_ended, uvicorn_started

CHROMIUM = Path(os.environ.get("ORX_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveService:
    """The running service: its URL, an admin API key and a REST client that uses it."""

    base_url: str
    api_key: str
    client: httpx.AsyncClient
    service: Service

    async def submit(self, prompt: str, **options: object) -> str:
        response = await self.client.post(
            "/api/orchestrate/prompt", json={"prompt": prompt, **options}
        )
        assert response.status_code == 202, response.text
        thread_id: str = response.json()["thread_id"]
        return thread_id

    async def wait_finished(self, thread_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        return await status_ended(self.client, thread_id, timeout_s=timeout_s)


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def served(app: FastAPI, admin: str) -> AsyncIterator[LiveService]:
    """`app` in a real uvicorn on a free loopback port, with an admin key named `admin`."""
    service: Service = app.state.service
    sock = _loopback_socket()
    config = uvicorn.Config(
        app, http=served_protocol(app), log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{admin}-service")
    try:
        await uvicorn_started(server, task)
        async with service.sessions() as session:
            key = await create_key(session, name=admin, is_admin=True)
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        headers = {"Authorization": f"Bearer {key.key}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
            yield LiveService(base_url, key.key, client, service)
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveService]:
    """The service in a real uvicorn on a free loopback port, with API keys required."""
    if not BUNDLE.is_file():
        pytest.fail(f"the dashboard is not built ({BUNDLE} is missing): run `make web`")
    options = FakeProviderOptions(seed=1, latency_ms=300.0)
    async with run_fake_provider(options) as fake:
        settings = Settings(data_dir=tmp_path_factory.mktemp("browser-data"))
        app = create_app(settings, catalog=fake_catalog(fake.openai_base_url))
        async with served(app, "browser-admin") as live:
            yield live


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium driven by Playwright."""
    if not CHROMIUM.is_file():  # noqa: ASYNC240 (one stat, before anything runs)
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
            "(apt-get install -y chromium) or set ORX_CHROMIUM to its path"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def dashboard_page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context (empty localStorage); page errors fail the test."""
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live: LiveService) -> AsyncIterator[Page]:
    """A fresh browser context on the dashboard; page errors fail the test."""
    async with dashboard_page(browser) as opened:
        yield opened


async def sign_in(page: Page, live: LiveService, path: str = "/") -> None:
    """Open the dashboard and save the API key the way a person would."""
    await page.goto(live.base_url + path)
    await page.fill("#api-key", live.api_key)
    await page.click("#api-key-form button[type=submit]")
    # Predicates are written as functions: a bare expression needs eval, which the CSP forbids.
    await page.wait_for_function(
        "() => document.querySelector('#auth-mode').textContent === 'auth enabled'"
    )


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=True)
    return path
