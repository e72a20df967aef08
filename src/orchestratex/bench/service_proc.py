"""The service as the benchmarks run it: `python -m orchestratex.bench.service_proc`.

The same app as `orchestratex serve` (settings from ORX_CONFIG and ORX_*), served by uvicorn in
this process on a free loopback port, printed on stdout once listening. As with `serve`, it
runs on the event loop uvicorn's `auto` picks (uvloop, a project dependency, when installed)
and start-up's objects are frozen out of the garbage collector's reach, with the same HTTP
protocol and its limits (api/server_protocol.py). Two differences, both so
that the service itself is measured: the per-user request limit is raised to
`--requests-per-minute`, and provider keys come from an empty environment (only providers that
need no key, such as the fake provider, are usable, so no real model is ever called).
With `--key-file PATH`, an API key is made in the fresh database before the service starts
(so requests must carry it, as in a keyed deployment) and written to PATH (mode 0600).

With `--tracemalloc DIR`, the first SIGUSR1 starts tracing Python allocations (tracing start-up
would take minutes) and each SIGUSR1 writes a snapshot to `DIR/snapshot-<n>.pickle` (then an
empty `.done` file beside it), for benchmarks/memory_profile.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import tracemalloc
from pathlib import Path

import uvicorn
from uvicorn.loops.auto import auto_loop_factory

from orchestratex.api.app import create_app
from orchestratex.api.server_protocol import http_protocol
from orchestratex.runtime import admin
from orchestratex.runtime.settings import load_settings

TRACE_FRAMES = 12


def _snapshots_on_signal(directory: Path) -> None:
    """Start tracing on the first SIGUSR1; write a tracemalloc snapshot on every one."""
    taken = [0]

    def dump() -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(TRACE_FRAMES)
        taken[0] += 1
        path = directory / f"snapshot-{taken[0]}.pickle"
        tracemalloc.take_snapshot().dump(str(path))
        path.with_suffix(".done").touch()

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)


def _write_secret(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text)


async def _serve(requests_per_minute: int, trace_dir: Path | None, key_file: Path | None) -> None:
    if trace_dir is not None:
        _snapshots_on_signal(trace_dir)
    settings = load_settings().model_copy(update={"requests_per_minute": requests_per_minute})
    if key_file is not None:
        new = await admin.create_key(settings, name="benchmark")
        await asyncio.to_thread(_write_secret, key_file, new.key)
    app = create_app(settings, env={}, freeze_gc=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=http_protocol(settings),  # as `orchestratex serve`
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("the service stopped before it started")
        await asyncio.sleep(0.02)
    print(f"OrchestrateX service (benchmark target) at http://127.0.0.1:{port}", flush=True)
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests-per-minute", type=int, default=1_000_000)
    parser.add_argument("--tracemalloc", type=Path, default=None, metavar="DIR")
    parser.add_argument("--key-file", type=Path, default=None, metavar="PATH")
    args = parser.parse_args()
    loop_factory = auto_loop_factory()  # the loop `orchestratex serve` runs on
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=loop_factory) as runner,
    ):
        runner.run(_serve(args.requests_per_minute, args.tracemalloc, args.key_file))


if __name__ == "__main__":
    main()
