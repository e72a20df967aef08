"""The service as the benchmarks run it: `python -m orchestratex.bench.service_proc`.

The same app as `orchestratex serve` (settings from ORX_CONFIG and ORX_*), served by uvicorn in
this process on a free loopback port, printed on stdout once listening (and, as `serve` does,
with start-up's objects frozen out of the garbage collector's reach). Two differences, both so
that the service itself is measured: the per-user request limit is raised to
`--requests-per-minute`, and provider keys come from an empty environment (only providers that
need no key, such as the fake provider, are usable, so no real model is ever called).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket

import uvicorn

from orchestratex.api.app import create_app
from orchestratex.runtime.settings import load_settings


async def _serve(requests_per_minute: int) -> None:
    settings = load_settings().model_copy(update={"requests_per_minute": requests_per_minute})
    app = create_app(settings, env={}, freeze_gc=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
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
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.requests_per_minute))


if __name__ == "__main__":
    main()
