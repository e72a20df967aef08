"""The LiteLLM proxy as a comparison target, in its own virtual environment.

LiteLLM is never a dependency of OrchestrateX (its pins conflict with the project's): the
benchmark creates a separate virtual environment on first use (`LITELLM_REQUIREMENT`, pinned
here) under the user's cache folder and runs the proxy from it, on loopback, pointed at the same
fake provider as the service. It is configured lean, so that only its request path is measured:
one model, no database, no callbacks, telemetry off, the bundled price map (no network fetch at
start), errors-only logging and one uvicorn worker (`--num_workers 1`). A master key (random per
run) is set because the proxy refuses to start without one; with no database it is checked
against the configured key only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from orchestratex.bench.procs import Child, stop_process

LITELLM_VERSION = "1.106.12"
"""Installs from PyPI and starts offline here. 1.110.2's `proxy` extra needs a `litellm-proxy`
package that PyPI does not have; 1.107.0 was a compromised release and is avoided."""
LITELLM_REQUIREMENT = f"litellm[proxy]=={LITELLM_VERSION}"
DEFAULT_VENV = Path.home() / ".cache" / "orchestratex" / f"litellm-{LITELLM_VERSION}-venv"
MARKER = ".orchestratex-litellm"
"""Written in the venv after a successful install; holds the installed requirement."""
INSTALL_TIMEOUT_S = 900.0
START_TIMEOUT_S = 240.0
"""The proxy imports a lot: about 35 s to listen on the busy 2-core machine."""
HEALTH_PATH = "/health/liveliness"


class LiteLLMUnavailable(Exception):
    """LiteLLM could not be installed or started; the message says why."""


@dataclass
class LiteLLMProxy:
    """A running LiteLLM proxy: its process, the key to call it with, and the model name."""

    child: Child
    master_key: str
    model: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.master_key}"}


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def find_uv() -> str | None:
    """uv beside the running interpreter or on PATH (much faster than pip for this install)."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return str(beside)
    return shutil.which("uv")


def install_commands(venv: Path, *, python: str, uv: str | None) -> list[list[str]]:
    """The commands that create `venv` and install the pinned LiteLLM proxy into it."""
    target = str(venv_python(venv))
    if uv is not None:
        return [
            [uv, "venv", "--quiet", "--python", python, str(venv)],
            [uv, "pip", "install", "--python", target, LITELLM_REQUIREMENT],
        ]
    return [
        [python, "-m", "venv", str(venv)],
        [target, "-m", "pip", "install", "--disable-pip-version-check", LITELLM_REQUIREMENT],
    ]


def _clear(venv: Path) -> None:
    """Remove an older or partial install of ours; make sure the parent folder exists.

    A folder is only removed when the benchmark made it: it holds the marker of another
    version, or it lies in the benchmark's own cache folder. Anything else is left alone.
    """
    if venv.exists():
        ours = (venv / MARKER).is_file() or venv.resolve().parent == DEFAULT_VENV.parent
        if not ours:
            raise LiteLLMUnavailable(
                f"{venv} exists and was not made by the benchmark; remove it or pass another "
                "--litellm-venv"
            )
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)


def is_installed(venv: Path) -> bool:
    marker = venv / MARKER
    return marker.is_file() and marker.read_text().strip() == LITELLM_REQUIREMENT


async def ensure_venv(
    venv: Path, log: Path, *, python: str | None = None, uv: str | None = None
) -> list[list[str]]:
    """Create the venv unless it already holds the pinned version; returns the commands run.

    Raises LiteLLMUnavailable with the tail of the installer's output when a command fails.
    """
    if await asyncio.to_thread(is_installed, venv):
        return []
    await asyncio.to_thread(_clear, venv)
    commands = install_commands(venv, python=python or sys.executable, uv=uv or find_uv())
    with log.open("ab") as out:
        for command in commands:
            try:
                process = await asyncio.create_subprocess_exec(
                    *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
                )
            except OSError as exc:
                raise LiteLLMUnavailable(f"cannot run {command[0]}: {exc}") from exc
            try:
                async with asyncio.timeout(INSTALL_TIMEOUT_S):
                    code = await process.wait()
            except TimeoutError:
                await stop_process(process)
                raise LiteLLMUnavailable(
                    f"installing {LITELLM_REQUIREMENT} took over {INSTALL_TIMEOUT_S:g} s"
                ) from None
            if code != 0:
                raise LiteLLMUnavailable(
                    f"installing {LITELLM_REQUIREMENT} failed ({' '.join(command[:3])}... "
                    f"exited {code}):\n{_tail(log)}"
                )
    (venv / MARKER).write_text(LITELLM_REQUIREMENT + "\n")
    return commands


def proxy_config(
    upstream_base_url: str,
    *,
    model: str,
    upstream_model: str,
    master_key: str,
    protocol: str = "openai",
) -> dict[str, Any]:
    """The proxy's config file (YAML form): one model (OpenAI-compatible, or Anthropic with
    `protocol="anthropic"`), nothing else."""
    return {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"{protocol}/{upstream_model}",
                    "api_base": upstream_base_url,
                    "api_key": "not-a-real-key",
                    "max_retries": 0,
                },
            }
        ],
        "litellm_settings": {
            "telemetry": False,
            "callbacks": [],
            "success_callback": [],
            "failure_callback": [],
            "set_verbose": False,
            "request_timeout": 120,
        },
        "general_settings": {
            "master_key": master_key,
            "disable_spend_logs": True,
            "disable_error_logs": True,
            "background_health_checks": False,
        },
    }


def proxy_env(base: Mapping[str, str]) -> dict[str, str]:
    """The proxy's environment: no inherited keys or database URL; offline, quiet settings."""
    dropped = ("ORX_", "OPENAI_", "ANTHROPIC_", "LITELLM_", "DATABASE_URL", "REDIS_")
    env = {k: v for k, v in base.items() if not k.startswith(dropped)}
    env.update(
        {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the bundled price map, no fetch at start
            "LITELLM_TELEMETRY": "False",
            "LITELLM_LOG": "ERROR",
            "DISABLE_ADMIN_UI": "True",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def proxy_command(venv: Path, config: Path, port: int) -> list[str]:
    return [
        str(venv / "bin" / "litellm"),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    with contextlib.suppress(OSError):
        return log.read_text(errors="replace")[-1500:]
    return ""


async def _wait_healthy(process: asyncio.subprocess.Process, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise LiteLLMUnavailable(
                    f"the LiteLLM proxy exited ({process.returncode}) before it was ready:\n"
                    + _tail(log)
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url + HEALTH_PATH)).status_code == 200:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 0.5)
    raise LiteLLMUnavailable(f"the LiteLLM proxy did not answer in {START_TIMEOUT_S:g} s")


@asynccontextmanager
async def litellm_process(
    upstream_base_url: str,
    workdir: Path,
    *,
    venv: Path,
    model: str,
    upstream_model: str,
    protocol: str = "openai",
) -> AsyncIterator[LiteLLMProxy]:
    """Run the proxy from `venv` on a free loopback port until the block ends."""
    key = "sk-bench-" + secrets.token_hex(16)
    config = workdir / "litellm.yaml"
    settings = proxy_config(
        upstream_base_url,
        model=model,
        upstream_model=upstream_model,
        master_key=key,
        protocol=protocol,
    )
    config.write_text(yaml.safe_dump(settings))
    port = _free_port()
    log = workdir / "litellm.log"
    with log.open("wb") as out:
        try:
            process = await asyncio.create_subprocess_exec(
                *proxy_command(venv, config, port),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=proxy_env(os.environ),
                cwd=workdir,
            )
        except OSError as exc:
            raise LiteLLMUnavailable(f"cannot start the LiteLLM proxy: {exc}") from exc
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(process, url, log)
        yield LiteLLMProxy(Child(process, url, log), key, model)
    finally:
        await stop_process(process)
