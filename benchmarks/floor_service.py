"""The floor under the service's CPU per passthrough request: a bare app doing only the parts
no passthrough can skip, measured like `orchestratex bench overhead` measures the service.

One FastAPI endpoint, served by uvicorn (the same versions, HTTP parser and settings as the
service), validates a chat-completions body with the service's own schema
(`ChatCompletionRequest`) and, unless `--no-upstream`, makes the same upstream call through the
`openai` SDK's raw `post` to the fake provider; it returns a small JSON answer. No auth, no
store, no events, no engine. CPU per request is read from /proc before and after `--requests`
sequential requests, as the benchmark does. `--loop` picks the event loop as uvicorn's `--loop`
does: `auto` (the default, as `orchestratex serve` and the benchmark's service run) is uvloop
when it is installed, `asyncio` the standard loop, so the two can be compared.

    .venv/bin/python benchmarks/floor_service.py --requests 400
    .venv/bin/python benchmarks/floor_service.py --loop asyncio
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import socket
import sys
from typing import Any

import httpx
import httpx2
import openai
import uvicorn
from fastapi import FastAPI

from orchestratex.api.openai_schema import ChatCompletionRequest
from orchestratex.bench import loadgen, procs
from orchestratex.bench.service_probe import chat_body


def _serve(fake_url: str, upstream: bool, loop: str) -> None:
    app = FastAPI()
    client = openai.AsyncOpenAI(api_key="unused", base_url=fake_url + "/v1", max_retries=0)

    @app.post("/v1/chat/completions")
    async def chat(body: ChatCompletionRequest) -> dict[str, Any]:
        text = "a fixed answer"
        if upstream:
            messages = [{"role": m.role, "content": m.content} for m in body.messages]
            params = {"model": "fake-gpt-large", "messages": messages, "max_tokens": 100}
            reply = await client.post("/chat/completions", cast_to=httpx2.Response, body=params)
            text = json.loads(reply.content)["choices"][0]["message"]["content"]
        return {"choices": [{"message": {"role": "assistant", "content": text}}]}

    async def main() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.02)
        print(f"floor app at http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        await task

    config = uvicorn.Config(app, log_level="warning", access_log=False, loop=loop)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())


async def _measure(requests: int, upstream: bool, loop: str) -> None:
    with procs.scratch_dir() as where:
        async with (
            procs.fake_provider_process(0.0, where) as fake,
            loadgen.make_client(4) as client,
        ):
            args = [__file__, "--serve", fake.url, "--loop", loop]
            args += [] if upstream else ["--no-upstream"]
            child = await procs._start(args, procs._child_env(), where / "floor.log")
            try:
                url = child.url + "/v1/chat/completions"

                async def call(c: httpx.AsyncClient, i: int) -> None:
                    await loadgen.post_json(url, chat_body("fake-gpt", i))(c, i)

                await loadgen.run_concurrent(client, call, concurrency=1, requests=20)
                before = procs.cpu_seconds(child.pid)
                stats = await loadgen.run_concurrent(client, call, concurrency=1, requests=requests)
                cpu_ms = (procs.cpu_seconds(child.pid) - before) * 1000 / max(stats.ok, 1)
            finally:
                await procs.stop_process(child.process)
    machine = procs.machine_info()
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"floor ({'with' if upstream else 'without'} the upstream call, loop {loop}): "
        f"{stats.ok} ok, "
        f"{stats.errors} errors, CPU {cpu_ms:.2f} ms/request; "
        f"load average {machine.load_average[0]:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--no-upstream", action="store_true")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--serve", metavar="FAKE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, upstream=not args.no_upstream, loop=args.loop)
        sys.exit(0)
    asyncio.run(_measure(args.requests, upstream=not args.no_upstream, loop=args.loop))
