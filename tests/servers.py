"""Throwaway PostgreSQL clusters and Redis servers from Debian's packages, for tests.

`postgres_cluster()` yields a server URL: ORX_TEST_POSTGRES_URL when set, else a cluster
started in a temp directory when the server binaries are installed, else None.
`redis_server()` yields a redis:// URL of a server on a free loopback port without persistence,
or None when redis-server is not installed. `uvicorn_on_loopback(app)` serves an ASGI app on a
free loopback port in the test's own event loop; `served_protocol(app)` is the HTTP protocol the
service ships with (its settings' header and send-time limits) for the service's app.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from orchestratex.api.server_protocol import http_protocol
from orchestratex.runtime.service import Service
from tests.waiting import until_sync, uvicorn_started


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served_protocol(app: Any) -> type[asyncio.Protocol] | str:
    """What `orchestratex serve` serves the service's `app` with; uvicorn's default otherwise."""
    service = getattr(getattr(app, "state", None), "service", None)
    return http_protocol(service.settings) if isinstance(service, Service) else "auto"


@contextlib.asynccontextmanager
async def uvicorn_on_loopback(app: Any) -> AsyncIterator[str]:
    """Serve the ASGI `app` until the block ends; yields "127.0.0.1:<port>"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, http=served_protocol(app), log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await uvicorn_started(server, task)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _run_as(owner: str | None, *command: str, check: bool = True) -> None:
    """Run a server tool, as `owner` when given (initdb refuses to run as root)."""
    full = ["runuser", "-u", owner, "--", *command] if owner else list(command)
    subprocess.run(full, check=check, capture_output=True, timeout=60)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str | None]:
    """A PostgreSQL server URL (database `postgres`), or None when there is none."""
    configured = os.environ.get("ORX_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    bindir = postgres_bindir()
    if bindir is None:
        yield None
        return
    owner: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            yield None
            return
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="orx-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if owner:
        shutil.chown(root, owner)
        shutil.chown(sockets, owner)
    port = free_port()
    initdb, pg_ctl = str(bindir / "initdb"), str(bindir / "pg_ctl")
    _run_as(
        owner, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
    )
    # A zone far from UTC with a 45-minute offset: code that leans on the server's time zone
    # (instead of storing and bucketing in UTC) shows up as wrong timestamps or buckets.
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c timezone=Pacific/Chatham"
    )
    _run_as(owner, pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "log"), "start")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run_as(owner, pg_ctl, "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A Redis server on a free loopback port (no persistence), or None without the binary."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="orx-redis-"))
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root)]
    command += ["--save", "", "--appendonly", "no", "--protected-mode", "yes"]
    with (root / "log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(root / 'log').read_text()}")
            return _pong(port)

        until_sync(answers, what="redis-server answering", timeout_s=10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
