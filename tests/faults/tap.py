"""The fake provider behind a recording tap: what each completion request got on the wire.

The tap sits between uvicorn and the fake provider's ASGI app and keeps, per completion
request, the status, the response bytes and whether the response was finished. From that it
decides whether the client received a complete, well-formed answer, and the token usage that
answer reported. That is the server's side of the usage ledger the fault tests check.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestratex.testing.fake_provider import FakeProviderOptions, FakeStats, FaultKind
from orchestratex.testing.fake_provider.app import build_app
from orchestratex.testing.fake_provider.faults import quiet_cut_notices
from orchestratex.testing.fake_provider.state import FakeState
from tests.waiting import uvicorn_started

COMPLETION_PATHS = ("/v1/chat/completions", "/v1/messages")


@dataclass
class Exchange:
    """One completion request as the tap saw it."""

    path: str
    model: str
    stream: bool
    status: int = 0
    body: bytearray = field(default_factory=bytearray)
    finished: bool = False
    """The app sent its last body part (a cut response never does)."""

    def answer_usage(self) -> tuple[int, int] | None:
        """(input, output) tokens of a complete, well-formed answer; None for any failure."""
        if self.status != 200 or not self.finished:
            return None
        text = bytes(self.body).decode("utf-8", errors="replace")
        try:
            if not self.stream:
                usage = json.loads(text)["usage"]
                if self.path == "/v1/messages":
                    return int(usage["input_tokens"]), int(usage["output_tokens"])
                return int(usage["prompt_tokens"]), int(usage["completion_tokens"])
            return _stream_usage(self.path, text)
        except (ValueError, KeyError, TypeError):
            return None


def _stream_usage(path: str, text: str) -> tuple[int, int] | None:
    """Usage of an SSE answer whose every data line is valid JSON and that ends properly."""
    payloads: list[dict[str, object]] = []
    done = False
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            done = True
            continue
        payloads.append(json.loads(data))  # raises ValueError on a broken line
    if path == "/v1/messages":
        types = [p.get("type") for p in payloads]
        if "message_stop" not in types:
            return None
        start = next(p for p in payloads if p.get("type") == "message_start")
        delta = next(p for p in payloads if p.get("type") == "message_delta")
        message = start["message"]
        assert isinstance(message, dict) and isinstance(delta["usage"], dict)
        return int(message["usage"]["input_tokens"]), int(delta["usage"]["output_tokens"])
    if not done:
        return None
    usage = next(p["usage"] for p in payloads if p.get("usage"))
    assert isinstance(usage, dict)
    return int(usage["prompt_tokens"]), int(usage["completion_tokens"])


FaultPlan = Callable[[Exchange], FaultKind | None]
"""Picks the fault for one request (None: a normal answer), in place of the random draw."""


class _Tap:
    """ASGI middleware recording every completion exchange (and applying a fault plan)."""

    def __init__(self, app: ASGIApp, state: FakeState, log: list[Exchange]) -> None:
        self.app = app
        self.state = state
        self.log = log
        self.plan: FaultPlan | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in COMPLETION_PATHS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        raw = b"".join(chunks)
        try:
            request = json.loads(raw)
        except ValueError:
            request = {}
        exchange = Exchange(
            path=scope["path"],
            model=str(request.get("model", "")),
            stream=bool(request.get("stream", False)),
        )
        self.log.append(exchange)
        if self.plan is not None:
            # The fake server reads its options right after parsing the body; a plan suits
            # requests that do not overlap with ones planned differently.
            fault = self.plan(exchange)
            self.state.options.fail_rate = 1.0 if fault is not None else 0.0
            if fault is not None:
                self.state.options.faults = [fault]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
                await send(message)
                return
            exchange.body += message.get("body", b"")
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                exchange.finished = True

        await self.app(scope, replay, record)


class TappedProvider:
    """A running fake provider with its tap: URLs, live options, stats and the exchange log."""

    def __init__(self, state: FakeState, port: int, tap: _Tap) -> None:
        self._state = state
        self._tap = tap
        self.base_url = f"http://127.0.0.1:{port}"
        self.openai_base_url = self.base_url + "/v1"
        self.exchanges = tap.log

    @property
    def plan(self) -> FaultPlan | None:
        """When set, decides each request's fault (the options' fail_rate is then ignored)."""
        return self._tap.plan

    @plan.setter
    def plan(self, value: FaultPlan | None) -> None:
        self._tap.plan = value

    @property
    def options(self) -> FakeProviderOptions:
        return self._state.options

    @property
    def stats(self) -> FakeStats:
        return self._state.stats

    def answered(self) -> list[tuple[int, int]]:
        """Usage of every complete, well-formed answer the server gave, in arrival order."""
        found = (e.answer_usage() for e in self.exchanges)
        return [u for u in found if u is not None]


@asynccontextmanager
async def run_tapped_provider(options: FakeProviderOptions) -> AsyncIterator[TappedProvider]:
    """Serve the fake provider behind the tap on a free loopback port for the block."""
    quiet_cut_notices()
    state = FakeState(options)
    tap = _Tap(build_app(state), state, [])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        tap,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="tapped-fake-provider")
    try:
        await uvicorn_started(server, task)
        yield TappedProvider(state, int(sock.getsockname()[1]), tap)
    finally:
        state.closing.set()
        server.should_exit = True
        try:
            await task
        finally:
            sock.close()
