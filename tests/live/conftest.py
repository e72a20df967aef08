"""Fixtures: the fake provider in its own thread and event loop, the app under TestClient.

TestClient runs the app in a loop of its own (a blocking portal thread), so the fake provider
must not share the test's loop: it gets a thread with a loop of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from orchestratex.api.app import create_app
from orchestratex.api.routes.ws import hub_of
from orchestratex.runtime.auth import create_key
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.runtime.ws_hub import WsHub
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.databases import assert_backend, on_both_backends
from tests.waiting import until_sync

ENDED = ("completed", "failed", "cancelled", "interrupted")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    on_both_backends(metafunc)


@pytest.fixture
def fake_server() -> Iterator[FakeProviderServer]:
    """The fake provider served from a background thread with its own event loop."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["loop"] = asyncio.get_running_loop()
        holder["stop"] = stop
        async with run_fake_provider(FakeProviderOptions(seed=1)) as server:
            holder["server"] = server
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(10), "the fake provider did not start"
    try:
        yield holder["server"]
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)


@dataclass
class Live:
    app: FastAPI
    client: TestClient
    fake: FakeProviderServer

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    @property
    def hub(self) -> WsHub:
        return hub_of(self.app)

    def submit(self, prompt: str = "Write a haiku about tea", **fields: Any) -> str:
        headers = fields.pop("headers", None)
        body = {"prompt": prompt, "max_rounds": 2, **fields}
        response = self.client.post("/api/orchestrate/prompt", json=body, headers=headers)
        assert response.status_code == 202, response.text
        thread_id: str = response.json()["thread_id"]
        return thread_id

    def status(self, thread_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/orchestrate/status/{thread_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_finished(self, thread_id: str, headers: dict[str, str] | None = None) -> None:
        def ended() -> bool:
            body = self.status(thread_id, headers)
            return body["status"] in ENDED and not body["live"]

        until_sync(ended, what=f"thread {thread_id} ended", timeout_s=30)

    def wait_seq(self, thread_id: str, at_least: int) -> None:
        """Wait until the store holds an event with seq >= at_least (the run is under way)."""
        until_sync(
            lambda: self.status(thread_id)["last_seq"] >= at_least,
            what=f"seq {at_least} stored",
            timeout_s=30,
            every_s=0.01,
        )

    def new_key(self, name: str, *, admin: bool = False) -> str:
        async def make() -> str:
            async with self.service.sessions() as session:
                return (await create_key(session, name=name, is_admin=admin)).key

        assert self.client.portal is not None
        return self.client.portal.call(make)


class LocalTestClient(TestClient):
    """A TestClient addressed to localhost, its WebSockets too (TestClient's own are addressed
    to `testserver` from `testclient`, which open mode refuses: api/local_guard.py)."""

    def websocket_connect(
        self, url: str, subprotocols: Any = None, **kwargs: Any
    ) -> WebSocketTestSession:
        return super().websocket_connect(urljoin("ws://localhost", url), subprotocols, **kwargs)


@pytest.fixture
def live(
    tmp_path: Path, database_url: str | None, fake_server: FakeProviderServer
) -> Iterator[Live]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    app = create_app(settings, catalog=fake_catalog(fake_server.openai_base_url))
    with LocalTestClient(app, base_url="http://localhost", client=("127.0.0.1", 50000)) as client:
        assert_backend(app.state.service, database_url)
        yield Live(app, client, fake_server)


def receive_until_close(ws: Any) -> tuple[list[dict[str, Any]], int]:
    """Every message until the server closes; returns them with the close code."""
    messages: list[dict[str, Any]] = []
    while True:
        try:
            messages.append(ws.receive_json())
        except WebSocketDisconnect as closed:
            return messages, closed.code


def receive_type(ws: Any, kind: str, limit: int = 10_000) -> dict[str, Any]:
    """The next message of type `kind` (skipping others, e.g. heartbeats and events)."""
    for _ in range(limit):
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
