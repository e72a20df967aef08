"""Fixtures: a background event loop holding the fake provider (and, when asked, a real uvicorn
server of the app), and the environment the CLI reads its settings from.

The CLI runs `asyncio.run` itself, so CLI tests are synchronous and every server they talk to
lives in a loop of its own, in another thread.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from fastapi import FastAPI

from orchestratex.api.app import create_app
from orchestratex.providers.catalog import load_catalog
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import FAKE_ANTHROPIC, FAKE_MODELS, FAKE_OPENAI, fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)
from tests.servers import uvicorn_on_loopback

T = TypeVar("T")

PROVIDER_KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "XAI_API_KEY",
    "DASHSCOPE_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
    "MISTRAL_API_KEY",
)


class LoopThread:
    """An event loop running in a daemon thread; `run` executes a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.stack = AsyncExitStack()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.run(self.stack.aclose())
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


@pytest.fixture
def background() -> Iterator[LoopThread]:
    loop = LoopThread()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def fake(background: LoopThread) -> FakeProviderServer:
    """The fake provider, serving from the background loop for the whole test."""
    context = run_fake_provider(FakeProviderOptions(seed=1))
    return background.run(background.stack.enter_async_context(context))


def write_config(path: Path, fake: FakeProviderServer) -> Path:
    """An ORX_CONFIG file whose providers are the fake server and whose built-ins are off."""
    config = {
        "providers": {
            FAKE_OPENAI: {"protocol": "openai", "base_url": fake.openai_base_url},
            FAKE_ANTHROPIC: {"protocol": "anthropic", "base_url": fake.anthropic_base_url},
        },
        "models": [spec.model_dump(mode="json") for spec in FAKE_MODELS],
        "disabled_models": list(load_catalog().models),
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def local_env(tmp_path: Path, fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for in-process commands: the fake provider via ORX_CONFIG, data in tmp_path."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORX_CONFIG", str(write_config(tmp_path / "config.yaml", fake)))
    monkeypatch.setenv("ORX_DATA_DIR", str(data))
    monkeypatch.delenv("ORX_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    for name in PROVIDER_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    return data


@dataclass
class RunningServer:
    url: str
    service: Service
    fake: FakeProviderServer


async def serve_app(stack: AsyncExitStack, app: FastAPI) -> str:
    """Serve `app` on a free loopback port until `stack` closes; returns its base URL."""
    return f"http://{await stack.enter_async_context(uvicorn_on_loopback(app))}"


async def _serve(
    stack: AsyncExitStack, settings: Settings, fake: FakeProviderServer
) -> RunningServer:
    app = create_app(settings, catalog=fake_catalog(fake.openai_base_url))
    return RunningServer(await serve_app(stack, app), app.state.service, fake)


@pytest.fixture
def server(
    background: LoopThread,
    fake: FakeProviderServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> RunningServer:
    """The real app on uvicorn, on a free loopback port, its models all on the fake provider."""
    monkeypatch.delenv("ORX_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    data = tmp_path / "server-data"
    data.mkdir()
    return background.run(_serve(background.stack, Settings(data_dir=data), fake))


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Interrupted:
    returncode: int
    stdout: str
    stderr: str
    thread_id: str


def interrupt_cli(args: list[str], *, env: Mapping[str, str], cwd: Path) -> Interrupted:
    """Run the CLI in a subprocess, send SIGINT once the model is chosen, and wait for exit."""
    command = [sys.executable, "-c", "from orchestratex.cli.main import app; app()", *args]
    full_env = {**env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def read(stream: Iterable[str]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, args=(process.stdout,), daemon=True)
    reader.start()
    seen: list[str] = []
    thread_id = ""
    deadline = time.monotonic() + 60
    try:
        while True:  # once the model is chosen, its slow answer is in flight
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "the command ended early: " + "".join(seen)
            seen.append(line)
            if line.startswith("Thread"):
                thread_id = line.split()[1]
            if line.startswith("Model"):
                break
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    while (item := lines.get_nowait() if not lines.empty() else None) is not None:
        seen.append(item)
    stderr = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    return Interrupted(process.returncode, "".join(seen), stderr, thread_id)
