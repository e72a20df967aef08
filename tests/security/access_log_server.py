"""Run the service under uvicorn exactly as `orchestratex serve` does (uvicorn's own logging
configuration, access log on), with the fake provider as every provider, for log tests.

`python -m tests.security.access_log_server DATA_DIR` prints `PORT <n>` once it listens, then
serves until its stdin closes.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import uvicorn

from orchestratex.api.app import create_app
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider
from tests.servers import served_protocol
from tests.waiting import uvicorn_started


async def main(data_dir: Path) -> None:
    async with run_fake_provider(FakeProviderOptions(seed=1)) as fake:
        app = create_app(Settings(data_dir=data_dir), catalog=fake_catalog(fake.openai_base_url))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        # Default log_config: uvicorn's formatters, the access one unpacking each record's args.
        server = uvicorn.Server(
            uvicorn.Config(app, http=served_protocol(app), log_level="info", access_log=True)
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await uvicorn_started(server, task)
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        await asyncio.to_thread(sys.stdin.read)
        server.should_exit = True
        await task


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
