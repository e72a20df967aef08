"""Benchmark: CPU per request of the service's HTTP protocol (api/server_protocol.py) against
uvicorn's plain httptools protocol it extends.

In one process on uvloop, each protocol parses the same keep-alive request (a /v1 chat POST
with the headers the OpenAI SDK sends and an 80-byte body) N times on a stand-in transport, and
a trivial ASGI app reads the body and answers; `time.process_time` per request, in alternating
blocks to share the machine's noise. Only the protocol layer differs between the two, so the
difference is what the header and send-time limits cost per request.

    .venv/bin/python benchmarks/server_protocol_cost.py [--requests 20000] [--blocks 6]

Prints one JSON object. A measurement, not a test: nothing here fails on a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from orchestratex.api.server_protocol import http_protocol
from orchestratex.runtime.settings import Settings

BODY = b'{"model":"fake-gpt","messages":[{"role":"user","content":"hello there, my friend"}]}'
REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
    b"Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n"
    b"User-Agent: OpenAI/Python 1.0\r\nAuthorization: Bearer orx_" + b"x" * 43 + b"\r\n"
    b"Content-Type: application/json\r\nX-Stainless-Lang: python\r\n"
    b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
)


class StandInTransport(asyncio.Transport):
    """Takes writes and drops them; never closes by itself."""

    def __init__(self) -> None:
        super().__init__()
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def close(self) -> None:
        self._closing = True

    def is_closing(self) -> bool:
        return self._closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def answer(scope: Any, receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


async def cpu_us_per_request(protocol: type[HttpToolsProtocol], requests: int) -> float:
    config = uvicorn.Config(answer, log_config=None, access_log=False)
    config.load()
    state = ServerState()
    connection = protocol(
        config=config, server_state=state, app_state={}, _loop=asyncio.get_running_loop()
    )
    connection.connection_made(StandInTransport())
    started = time.process_time()
    for _ in range(requests):
        connection.data_received(REQUEST)
        while state.tasks:
            await asyncio.gather(*state.tasks)
    return (time.process_time() - started) / requests * 1e6


async def measure(requests: int, blocks: int) -> dict[str, Any]:
    protocols: dict[str, type[HttpToolsProtocol]] = {
        "uvicorn": HttpToolsProtocol,
        "limited": http_protocol(Settings()),
    }
    runs: dict[str, list[float]] = {name: [] for name in protocols}
    for _ in range(blocks):
        for name, protocol in protocols.items():
            runs[name].append(await cpu_us_per_request(protocol, requests))
    median = {name: statistics.median(values) for name, values in runs.items()}
    return {
        "requests_per_block": requests,
        "blocks": blocks,
        "cpu_us_per_request": {
            name: [round(v, 2) for v in values] for name, values in runs.items()
        },
        "median_us": {name: round(value, 2) for name, value in median.items()},
        "added_median_us": round(median["limited"] - median["uvicorn"], 2),
        "added_min_us": round(min(runs["limited"]) - min(runs["uvicorn"]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--blocks", type=int, default=6)
    args = parser.parse_args()
    print(json.dumps(uvloop.run(measure(args.requests, args.blocks)), indent=2))


if __name__ == "__main__":
    main()
