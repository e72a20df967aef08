"""The server's own limits on what a client sends (api/server_protocol.py), over raw sockets.

Oversized heads get 431 (414 for the URL alone) and a closed connection; a head or a body sent
too slowly gets 408 and a closed connection, the route seeing a disconnect. The timeouts here are
short (`TIMEOUT_S`) so the tests are quick; responses that last several times longer (an SSE
stream) are not cut.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from orchestratex.testing.fake_provider import FakeProviderOptions
from tests.hostile.conftest import submit
from tests.hostile.server import Served, bearer, serve

TIMEOUT_S = 0.5
"""header_timeout_s and body_timeout_s of the service under test."""
DEADLINE_S = 10.0
"""How long a test waits for the server's answer or close (far past TIMEOUT_S)."""
LATENCY_MS = 2000.0
"""The fake provider's latency: a streamed answer lasts several TIMEOUT_S."""


@dataclass
class Limited:
    served: Served
    key: str
    host: str
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port, limit=1 << 20)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Limited]:
    settings = {"header_timeout_s": TIMEOUT_S, "body_timeout_s": TIMEOUT_S}
    fake = FakeProviderOptions(seed=1, latency_ms=LATENCY_MS)
    with serve(tmp_path, settings=settings, fake_options=fake) as served:
        key = served.new_key_sync("mallory")
        address = httpx.URL(served.base_url)
        assert address.port is not None
        yield Limited(served, key, address.host, address.port)


async def read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (or the deadline fails)."""
    async with asyncio.timeout(DEADLINE_S):
        return await reader.read()


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert b"connection: close" in [line.lower() for line in lines[1:]], head
    return int(lines[0].split()[1]), json.loads(body)


async def send_head(limited: Limited, head: bytes) -> bytes:
    reader, writer = await limited.connect()
    try:
        writer.write(head)
        await writer.drain()
        return await read_all(reader)
    finally:
        writer.close()


def get(path: str, fields: list[tuple[str, str]]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{n}: {v}" for n, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_normal_request_is_served(limited: Limited) -> None:
    answer = await send_head(limited, get("/healthz", [("Connection", "close")]))
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


async def test_a_70_kb_header_gets_431_and_a_closed_connection(limited: Limited) -> None:
    seen_before = await thread_count(limited)
    head = get(
        "/api/threads", [("Authorization", f"Bearer {limited.key}"), ("X-Pad", "a" * 70_000)]
    )
    status, body = status_and_body(await send_head(limited, head))
    assert status == 431
    assert body == {
        "error": {
            "code": "request_header_fields_too_large",
            "message": "the request line and header fields exceed 65536 bytes",
        }
    }
    assert await thread_count(limited) == seen_before


async def test_a_60_kb_header_is_allowed(limited: Limited) -> None:
    head = get("/healthz", [("X-Pad", "a" * 60_000), ("Connection", "close")])
    answer = await send_head(limited, head)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


async def test_a_header_sent_in_pieces_is_counted_as_it_comes(limited: Limited) -> None:
    """A header value that never ends is refused once its reads pass the limit."""
    reader, writer = await limited.connect()
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ")
        await writer.drain()
        answer = b""
        async with asyncio.timeout(DEADLINE_S):
            for _ in range(40):  # 40 x 4 KiB in separate writes, never a line end
                if reader.at_eof():
                    break
                writer.write(b"a" * 4096)
                await writer.drain()
            answer = await reader.read()
    except ConnectionResetError:
        answer = b""
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


async def test_200_header_fields_get_431(limited: Limited) -> None:
    fields = [(f"X-Field-{n}", "v") for n in range(200)]
    status, body = status_and_body(await send_head(limited, get("/healthz", fields)))
    assert status == 431
    error = body["error"]
    assert isinstance(error, dict)
    assert error["message"] == "a request may have at most 100 header fields"


async def test_100_header_fields_are_allowed(limited: Limited) -> None:
    fields = [(f"X-Field-{n}", "v") for n in range(98)] + [("Connection", "close")]
    answer = await send_head(limited, get("/healthz", fields))  # with Host: 100 fields
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


async def test_a_url_over_the_limit_gets_414(limited: Limited) -> None:
    status, body = status_and_body(await send_head(limited, get("/healthz?q=" + "a" * 70_000, [])))
    assert status == 414
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "request_uri_too_long"


async def test_a_slow_head_gets_408_and_a_closed_connection(limited: Limited) -> None:
    reader, writer = await limited.connect()
    try:
        writer.write(b"G")  # one byte, then nothing: the head never completes
        await writer.drain()
        status, body = status_and_body(await read_all(reader))
    finally:
        writer.close()
    assert status == 408
    assert body["error"] == {
        "code": "request_timeout",
        "message": f"the request head took over {TIMEOUT_S:g} s",
    }


async def test_the_next_head_on_a_kept_connection_is_timed_too(limited: Limited) -> None:
    reader, writer = await limited.connect()
    try:
        writer.write(get("/healthz", []))
        await writer.drain()
        async with asyncio.timeout(DEADLINE_S):
            first = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in first.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            )
            await reader.readexactly(length)
        assert first.startswith(b"HTTP/1.1 200 "), first
        writer.write(b"GET /hea")  # the next request's head stops here
        await writer.drain()
        status, _ = status_and_body(await read_all(reader))
    finally:
        writer.close()
    assert status == 408


async def test_a_silent_connection_is_closed_without_an_answer(limited: Limited) -> None:
    reader, writer = await limited.connect()
    try:
        assert await read_all(reader) == b""
    finally:
        writer.close()


async def send_part_of_a_body(limited: Limited, path: str, body: Mapping[str, object]) -> bytes:
    """POST `body` to `path` but send only its first 10 bytes; what the server answers."""
    raw = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {limited.key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    ).encode()
    reader, writer = await limited.connect()
    try:
        writer.write(head + raw[:10])  # the rest never comes
        await writer.drain()
        return await read_all(reader)
    finally:
        writer.close()


async def test_a_slow_body_gets_408_and_the_route_stores_nothing(limited: Limited) -> None:
    seen_before = await thread_count(limited)
    prompt = {"prompt": "Name three prime numbers", "max_rounds": 1}
    status, error = status_and_body(
        await send_part_of_a_body(limited, "/api/orchestrate/prompt", prompt)
    )
    assert status == 408
    assert error["error"] == {
        "code": "request_timeout",
        "message": f"the request body took over {TIMEOUT_S:g} s",
    }
    assert await thread_count(limited) == seen_before


async def test_a_slow_body_on_v1_gets_408_in_the_openai_shape(limited: Limited) -> None:
    chat = {"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]}
    status, error = status_and_body(
        await send_part_of_a_body(limited, "/v1/chat/completions", chat)
    )
    assert status == 408
    assert error["error"] == {
        "message": f"the request body took over {TIMEOUT_S:g} s",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_timeout",
    }


async def test_a_long_sse_stream_outlasts_the_timeouts(limited: Limited) -> None:
    """A streamed answer spread over several TIMEOUT_S (the fake provider's latency) arrives
    whole: only what the client sends is timed."""
    chat = {
        "model": "fake-gpt",
        "stream": True,
        "messages": [{"role": "user", "content": "Write a few lines about rivers"}],
    }
    loop = asyncio.get_running_loop()
    parts: list[str] = []
    async with (
        httpx.AsyncClient(
            base_url=limited.served.base_url, headers=bearer(limited.key), timeout=DEADLINE_S
        ) as http,
        http.stream("POST", "/v1/chat/completions", json=chat) as response,
    ):
        assert response.status_code == 200
        started = loop.time()
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                parts.append(line.removeprefix("data: "))
        lasted = loop.time() - started
    assert parts[-1] == "[DONE]"
    assert any(json.loads(p)["choices"][0]["delta"].get("content") for p in parts[:-1])
    # The fake provider sleeps LATENCY_MS / 2 over the chunks: a lower bound, so this only
    # checks that the stream did outlast the timeouts (else the test would prove nothing).
    assert lasted > 2 * TIMEOUT_S


async def test_a_websocket_outlasts_the_timeouts(limited: Limited) -> None:
    """A WebSocket following a run of a few slow model calls is not cut by the head timer."""
    async with httpx.AsyncClient(
        base_url=limited.served.base_url, headers=bearer(limited.key), timeout=DEADLINE_S
    ) as http:
        thread_id = await submit(http)
    url = f"{limited.served.ws_url}/ws/thread/{thread_id}"
    loop = asyncio.get_running_loop()
    started = loop.time()
    kinds: list[str] = []
    async with (
        asyncio.timeout(60),
        connect(url, additional_headers=bearer(limited.key), proxy=None) as ws,
    ):
        while "completed" not in kinds:
            message = json.loads(await ws.recv())
            if message["type"] == "event":
                kinds.append(message["event"]["type"])
    assert kinds[-1] == "completed" and "response" in kinds and "evaluation" in kinds
    assert loop.time() - started > 2 * TIMEOUT_S  # a lower bound set by the fake's latency


async def thread_count(limited: Limited) -> int:
    async with httpx.AsyncClient(
        base_url=limited.served.base_url, headers=bearer(limited.key), timeout=DEADLINE_S
    ) as http:
        listed = await http.get("/api/threads")
    assert listed.status_code == 200
    return len(listed.json()["items"])
