"""Real processes for the scale-out tests: PostgreSQL, Redis, the fake provider, API instances
(`orchestratex serve`) and workers (`orchestratex worker`), each a subprocess on loopback.

Skipped with a reason only when PostgreSQL's or Redis's server binaries are absent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.runtime.auth import create_key
from orchestratex.store.db import create_engine, create_session_factory, init_db
from orchestratex.testing.fake_catalog import FAKE_ANTHROPIC, FAKE_MODELS, FAKE_OPENAI
from tests.servers import free_port, redis_server
from tests.waiting import until_sync

T = TypeVar("T")
CLI = str(Path(sys.executable).with_name("orchestratex"))
FAKE_LATENCY_MS = 400
LEASE_TTL_S = 6.0
REQUESTS_PER_MINUTE = 6
START_TIMEOUT_S = 90.0
ENDED = ("completed", "failed", "cancelled", "interrupted")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on its own loop (fixtures may be set up inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            return httpx.get(url, timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    try:
        until_sync(answers, what=f"{url} answering", timeout_s=START_TIMEOUT_S, every_s=0.1)
    except AssertionError:
        raise RuntimeError(
            f"{url} did not answer:\n{log.read_text(errors='replace')[-3000:]}"
        ) from None


@dataclass
class Processes:
    """Subprocesses started for a test module; all killed at the end."""

    workdir: Path
    env: dict[str, str]
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    count: int = 0

    def spawn(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        self.count += 1
        log = self.workdir / f"{self.count:02d}-{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [CLI, *args], env=env or self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.running.append(process)
        return process, log

    def serve(self, env: dict[str, str] | None = None, port: int | None = None) -> str:
        port = port or free_port()
        process, log = self.spawn("serve", "serve", "--port", str(port), env=env)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", process, log)
        return base

    def worker(self) -> subprocess.Popen[bytes]:
        process, _log = self.spawn("worker", "worker", "--concurrency", "4")
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        for process in self.running:
            process.wait(timeout=10)


def _config(fake_port: int, path: Path) -> None:
    base = f"http://127.0.0.1:{fake_port}"
    config = {
        "providers": {
            FAKE_OPENAI: {"protocol": "openai", "base_url": f"{base}/v1", "max_retries": 0},
            FAKE_ANTHROPIC: {"protocol": "anthropic", "base_url": base, "max_retries": 0},
        },
        "models": [m.model_dump(mode="json") for m in FAKE_MODELS],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ORX_") and not k.endswith("_API_KEY")
    }


async def _create_database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        await init_db(engine)
    finally:
        await engine.dispose()
    return url


async def _admin_key(url: str) -> str:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            return (await create_key(session, name="admin", is_admin=True)).key
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_server(postgres_url: str | None) -> str:
    """The session's PostgreSQL server (tests/conftest.py), shared with the other suites."""
    if postgres_url is None:
        pytest.skip("no PostgreSQL server binaries (Debian package postgresql)")
    return postgres_url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            pytest.skip("no redis-server binary (Debian package redis-server)")
        yield url


@dataclass
class Cluster:
    """Two API instances and a worker sharing PostgreSQL and Redis."""

    a: str
    b: str
    database_url: str
    admin_key: str
    procs: Processes
    worker: subprocess.Popen[bytes]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def replace_worker(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Stop the worker with `sig` (kill -9 by default), then start a new one."""
        self.worker.send_signal(sig)
        self.worker.wait(timeout=30)
        self.worker = self.procs.worker()


@pytest.fixture(scope="module")
def fake_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("fake")
    procs = Processes(workdir, _clean_env())
    process, log = procs.spawn(
        "fake", "fake-provider", "--port", str(port), "--latency-ms", str(FAKE_LATENCY_MS)
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/v1/models", process, log)
        yield port
    finally:
        procs.stop_all()


def service_env(workdir: Path, fake_port: int, database_url: str) -> dict[str, str]:
    config = workdir / "orchestratex.yaml"
    _config(fake_port, config)
    env = _clean_env()
    env.update(
        ORX_CONFIG=str(config),
        ORX_DATABASE_URL=database_url,
        ORX_DATA_DIR=str(workdir / "data"),
        ORX_LEASE_TTL_S=str(LEASE_TTL_S),
        ORX_REQUESTS_PER_MINUTE=str(REQUESTS_PER_MINUTE),
        ORX_LOG_LEVEL="INFO",
        ORX_MODE="live",
    )
    return env


@pytest.fixture(scope="module")
def cluster(
    pg_server: str, redis_url: str, fake_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("cluster")
    database_url = run_sync(_create_database(pg_server, f"orx_scale_{uuid.uuid4().hex[:10]}"))
    admin_key = run_sync(_admin_key(database_url))
    env = service_env(workdir, fake_port, database_url)
    env["ORX_REDIS_URL"] = redis_url
    procs = Processes(workdir, env)
    try:
        worker = procs.worker()
        with ThreadPoolExecutor(max_workers=2) as pool:
            a, b = pool.map(lambda _i: procs.serve(), range(2))
        yield Cluster(a, b, database_url, admin_key, procs, worker)
    finally:
        procs.stop_all()


@pytest.fixture
async def db(cluster: Cluster) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(cluster.database_url)
    yield engine
    await engine.dispose()
