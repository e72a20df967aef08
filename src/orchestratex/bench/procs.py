"""Child processes for the service benchmarks: the fake provider and the service, on loopback.

Each runs in its own process (its own event loop and interpreter), started with the current
Python. Both bind a free loopback port themselves and print their URL, which is read back here.
Also: the resident memory and CPU time of a process (from /proc), and facts about the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from orchestratex.testing.fake_catalog import FAKE_ANTHROPIC, FAKE_MODELS, FAKE_OPENAI

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
CLI = "from orchestratex.cli.main import app; app()"
_URL = re.compile(r"http://127\.0\.0\.1:\d+")


@dataclass
class Child:
    """A running child process and the URL it serves."""

    process: asyncio.subprocess.Process
    url: str
    log: Path
    headers: dict[str, str] = field(default_factory=dict)
    """What each request to it carries (the API key of a keyed service)."""

    @property
    def pid(self) -> int:
        return self.process.pid


async def _start(args: list[str], env: dict[str, str], log: Path) -> Child:
    """Start `python args...`, wait for the first stdout line naming a loopback URL."""
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            env=env,
        )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while True:
                line = await process.stdout.readline()
                if not line:
                    detail = _tail(log)
                    raise RuntimeError(f"child {args[:2]} exited before it was ready:\n{detail}")
                found = _URL.search(line.decode(errors="replace"))
                if found:
                    return Child(process, found.group(0), log)
    except BaseException:
        await stop_process(process)
        raise


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORX_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@asynccontextmanager
async def fake_provider_process(latency_ms: float, workdir: Path) -> AsyncIterator[Child]:
    """`orchestratex fake-provider` (a test tool) on a free loopback port."""
    args = ["-c", CLI, "fake-provider", "--port", "0", "--latency-ms", str(latency_ms)]
    child = await _start(args, _child_env(), workdir / f"fake-{latency_ms:g}ms.log")
    try:
        yield child
    finally:
        await stop_process(child.process)


def service_config(
    fake_url: str, data_dir: Path, max_concurrent: int | None = None
) -> dict[str, Any]:
    """Settings (YAML form) pointing the service at the fake provider with its six models;
    `max_concurrent` caps each fake provider's calls open at once."""
    common: dict[str, Any] = {"timeout_s": 120.0, "max_retries": 0}
    if max_concurrent is not None:
        common["max_concurrent"] = max_concurrent
    return {
        "mode": "live",
        "log_level": "WARNING",
        "data_dir": str(data_dir),
        "providers": {
            FAKE_OPENAI: {"protocol": "openai", "base_url": fake_url + "/v1", **common},
            FAKE_ANTHROPIC: {"protocol": "anthropic", "base_url": fake_url, **common},
        },
        "models": [spec.model_dump(mode="json", exclude_none=True) for spec in FAKE_MODELS],
    }


@asynccontextmanager
async def service_process(
    fake_url: str,
    workdir: Path,
    *,
    requests_per_minute: int,
    name: str = "service",
    extra_args: tuple[str, ...] = (),
    keyed: bool = False,
    max_concurrent: int | None = None,
) -> AsyncIterator[Child]:
    """The OrchestrateX service (bench/service_proc.py) on a free loopback port.

    Its settings come from a YAML file named by ORX_CONFIG, with a fresh data directory.
    `keyed`: an API key exists (auth is on, as in a deployment with keys); the child's
    `headers` carry it. Else the service is in open mode (no key exists).
    """
    data_dir = workdir / f"{name}-data"
    data_dir.mkdir()
    config = workdir / f"{name}.yaml"
    config.write_text(yaml.safe_dump(service_config(fake_url, data_dir, max_concurrent)))
    args = ["-m", "orchestratex.bench.service_proc", "--requests-per-minute"]
    args += [str(requests_per_minute), *extra_args]
    key_file = workdir / f"{name}.key"
    if keyed:
        args += ["--key-file", str(key_file)]
    env = _child_env({"ORX_CONFIG": str(config)})
    child = await _start(args, env, workdir / f"{name}.log")
    if keyed:
        child.headers = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
    try:
        yield child
    finally:
        await stop_process(child.process)


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary directory for configs, databases and child logs."""
    with tempfile.TemporaryDirectory(prefix="orx-bench-") as path:
        yield Path(path)


def rss_mib(pid: int) -> float:
    """Resident set size of process `pid` in MiB (VmRSS from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by process `pid` (from /proc/<pid>/stat)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` and of its live descendants (a server's workers count too)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            raw = (entry / "stat").read_text()
            parent = int(raw[raw.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            total += cpu_seconds(current)
        todo += children.get(current, [])
    return total


class MachineInfo(BaseModel):
    cpu_model: str
    cores: int
    """CPUs this process may run on (what `nproc` prints)."""
    ram_gib: float
    python: str
    platform: str
    load_average: tuple[float, float, float]
    """1, 5 and 15 minute load averages when the figure was taken."""


def machine_info() -> MachineInfo:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kib = int(line.split()[1])
    return MachineInfo(
        cpu_model=cpu,
        cores=len(os.sched_getaffinity(0)),
        ram_gib=round(ram_kib / 1024 / 1024, 1),
        python=platform.python_version(),
        platform=platform.platform(),
        load_average=os.getloadavg(),
    )
