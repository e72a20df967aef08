"""The raw server-sent-event reader both adapters' streams go through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from orchestratex.providers.raw_reply import sse_objects


def _response(body: bytes, chunk: int = 7) -> httpx2.Response:
    """A streamed response whose body arrives in small pieces (lines split across reads)."""

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    return httpx2.Response(200, content=pieces(), request=request)


async def _objects(body: bytes) -> list[dict[str, Any]]:
    return [value async for value in sse_objects(_response(body), openai.APIError)]


async def test_reads_each_event_s_object_up_to_done() -> None:
    body = (
        b": a comment the reader skips\n\n"
        b'data: {"a": 1}\n\n'
        b"event: message\n"
        b'data:{"b": 2}\n\n'
        b'data: {"c":\n'
        b"data: 3}\n\n"
        b"data: [DONE]\n\n"
        b'data: {"after": "done"}\n\n'
    )
    assert await _objects(body) == [{"a": 1}, {"b": 2}, {"c": 3}]


async def test_crlf_line_ends_and_a_last_event_without_blank_line_at_the_end() -> None:
    body = b'data: {"a": 1}\r\n\r\ndata: {"b": 2}'
    assert await _objects(body) == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    ("error", "event"),
    [
        (openai.APIError, b'data: {"error": {"message": "overloaded"}}\n\n'),
        (
            anthropic.APIError,
            b"event: error\n"
            b'data: {"type": "error", "error": {"type": "overloaded_error", "message": '
            b'"overloaded"}}\n\n',
        ),
    ],
    ids=["openai", "anthropic"],
)
async def test_an_error_object_mid_stream_raises_the_sdk_error(
    error: type[openai.APIError] | type[anthropic.APIError], event: bytes
) -> None:
    body = b'event: ping\ndata: {"a": 1}\n\n' + event + b'data: {"after": "error"}\n\n'
    seen: list[dict[str, Any]] = []
    with pytest.raises(Exception) as info:
        async for value in sse_objects(_response(body), error):
            seen.append(value)
    assert type(info.value) is error
    assert seen == [{"a": 1}]
    assert "overloaded" in str(info.value)


@pytest.mark.parametrize("data", [b"[1, 2]", b'"text"', b"{not json"])
async def test_data_that_is_not_a_json_object_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        await _objects(b"data: " + data + b"\n\n")
