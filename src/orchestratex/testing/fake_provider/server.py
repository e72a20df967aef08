"""Run the fake provider on loopback inside the current event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from orchestratex.testing.fake_provider.app import build_app
from orchestratex.testing.fake_provider.faults import quiet_cut_notices
from orchestratex.testing.fake_provider.options import FakeProviderOptions, FakeStats
from orchestratex.testing.fake_provider.state import FakeState


class FakeProviderServer:
    """A running fake provider: its URLs, live options and request counters."""

    def __init__(self, state: FakeState, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
        self._state = state
        self._server = server
        self._task = task
        host, port = _bound_address(server)
        self.host = host
        self.port = port
        self.base_url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self.openai_base_url = self.base_url + "/v1"
        self.anthropic_base_url = self.base_url

    @property
    def options(self) -> FakeProviderOptions:
        """Behaviour knobs; change fields (or assign new options) while the server runs."""
        return self._state.options

    @options.setter
    def options(self, value: FakeProviderOptions) -> None:
        self._state.options = value

    @property
    def stats(self) -> FakeStats:
        """Counters since start or the last reset_stats()."""
        return self._state.stats

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The latest completion requests as received, oldest first: {"path", "body"} each."""
        return list(self._state.requests)

    def last_body(self) -> dict[str, Any]:
        """The JSON body of the latest completion request (KeyError-free: {} when none)."""
        body = self._state.requests[-1]["body"] if self._state.requests else {}
        return body if isinstance(body, dict) else {}

    def reset_stats(self) -> None:
        """Zero the counters and forget the recorded requests."""
        self._state.reset_stats()

    async def serve_until_stopped(self) -> None:
        """Wait until the server stops (on SIGINT/SIGTERM or when the context exits)."""
        await asyncio.shield(self._task)


@asynccontextmanager
async def run_fake_provider(
    options: FakeProviderOptions | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[FakeProviderServer]:
    """Serve a fake provider on host:port (0 = any free port) for the duration of the block."""
    quiet_cut_notices()
    state = FakeState(options if options is not None else FakeProviderOptions())
    sock = _bind(host, port)
    config = uvicorn.Config(
        build_app(state),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="fake-provider")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the fake provider stopped before it started")
            await asyncio.sleep(0.01)
        yield FakeProviderServer(state, server, task)
    finally:
        state.closing.set()
        server.should_exit = True
        try:
            await task
        finally:
            sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections
    # (without it, Nagle plus delayed ACKs add ~40 ms to every response).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _bound_address(server: uvicorn.Server) -> tuple[str, int]:
    name = server.servers[0].sockets[0].getsockname()
    return str(name[0]), int(name[1])
