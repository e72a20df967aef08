"""The service on a real uvicorn, in a thread with its own event loop, and its fake providers.

Tests talk to it over loopback HTTP and WebSocket, so both async tests (httpx, `websockets`)
and blocking clients (schemathesis' `requests`) can use it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from orchestratex.api.app import create_app
from orchestratex.api.routes.ws import hub_of
from orchestratex.runtime.auth import create_key
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.servers import served_protocol
from tests.waiting import uvicorn_started

T = TypeVar("T")

ENDED = ("completed", "failed", "cancelled", "interrupted")


@dataclass
class Served:
    """A running service: its URLs, app, fake provider and the loop it runs in."""

    base_url: str
    ws_url: str
    app: FastAPI
    fake: FakeProviderServer
    loop: asyncio.AbstractEventLoop

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def call(self, factory: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine in the server's loop and wait for it (blocking)."""
        future = asyncio.run_coroutine_threadsafe(_awaited(factory), self.loop)
        return future.result(30)

    async def acall(self, factory: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine in the server's loop, awaited from another loop."""
        future = asyncio.run_coroutine_threadsafe(_awaited(factory), self.loop)
        return await asyncio.wrap_future(future)

    async def new_key(
        self, name: str, *, admin: bool = False, budget_usd: float | None = None
    ) -> str:
        async def make() -> str:
            async with self.service.sessions() as session:
                made = await create_key(session, name=name, is_admin=admin, budget_usd=budget_usd)
                return made.key

        return await self.acall(make)

    def new_key_sync(self, name: str, *, admin: bool = False) -> str:
        async def make() -> str:
            async with self.service.sessions() as session:
                return (await create_key(session, name=name, is_admin=admin)).key

        return self.call(make)


async def _awaited(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def serve(
    tmp_path: Path,
    *,
    fake_options: FakeProviderOptions | None = None,
    settings: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    catalog_options: Mapping[str, Any] | None = None,
    heartbeat_s: float | None = None,
    log_level: str = "warning",
) -> Iterator[Served]:
    """Start the fake provider and the service on loopback ports in a background thread."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        holder["stop"] = stop
        loop = asyncio.get_running_loop()
        try:
            async with run_fake_provider(fake_options or FakeProviderOptions(seed=1)) as fake:
                catalog = fake_catalog(fake.openai_base_url, **dict(catalog_options or {}))
                app = create_app(
                    Settings(data_dir=tmp_path, **dict(settings or {})), catalog=catalog, env=env
                )
                if heartbeat_s is not None:
                    hub_of(app).heartbeat_s = heartbeat_s
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
                config = uvicorn.Config(
                    app,
                    http=served_protocol(app),
                    log_config=None,
                    log_level=log_level,
                    access_log=log_level != "warning",
                )
                server = uvicorn.Server(config)
                task = asyncio.create_task(server.serve(sockets=[sock]))
                try:
                    await uvicorn_started(server, task)
                    holder["served"] = Served(
                        f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app, fake, loop
                    )
                    ready.set()
                    await stop.wait()
                finally:
                    server.should_exit = True
                    await asyncio.wait_for(task, 15)
                    sock.close()
        except BaseException as exc:
            holder["error"] = exc
            ready.set()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(60), "the service did not start"  # a loaded CI machine is slow
    if "error" in holder:
        raise holder["error"]
    served: Served = holder["served"]
    try:
        yield served
    finally:
        served.loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(20)
        if "error" in holder:
            raise holder["error"]
