"""Model calls sent on an SDK client's own connection pool, without its per-call machinery.

The `openai` and `anthropic` SDKs build, for every call, request options that are validated,
copied and merged, and typed models of the request and of every reply or stream event. For
an OrchestrateX call that is most of its CPU time, and memory held while the call is open.
The adapters keep each SDK client (its base URL, auth and client headers, its connection pool
and error types) but send the JSON body themselves through that pool with the SDK's headers,
built once, and read the reply's JSON (or a stream's server-sent lines) directly.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx2

from orchestratex.providers.errors import CallContext, from_status


def sdk_headers(default: Mapping[str, object], auth: Mapping[str, str]) -> dict[str, str]:
    """An SDK client's headers for every call (its `default_headers` and `auth_headers`),
    without the placeholders it leaves out of a request and without its `X-Stainless-*`
    facts about the client's platform (eight more headers to copy, send and hold per call,
    which no provider needs to answer). Compressed replies are accepted, as the client's own
    defaults would have said."""
    kept = {
        k: v
        for k, v in default.items()
        if isinstance(v, str) and not k.lower().startswith("x-stainless-")
    }
    return {**kept, "Accept-Encoding": "gzip, deflate", **auth}


def error_body(response: httpx2.Response) -> Any:
    """An error reply's JSON (its `error` object when it has one), or None."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("error", body) if isinstance(body, dict) else body


def raise_for_status(response: httpx2.Response, ctx: CallContext) -> None:
    """The typed error of an HTTP error reply (whose body was read), as the SDK's would map."""
    if response.is_error:
        raise from_status(response.status_code, response.headers, error_body(response), ctx)


def json_request(
    url: httpx2.URL, body: dict[str, Any], headers: dict[str, str], timeout_s: float | None
) -> httpx2.Request:
    """A POST of `body` as JSON, built whole: the client's `send` then only routes it (proxies
    from the environment included) instead of merging its defaults into every request."""
    return httpx2.Request(
        "POST",
        url,
        headers=headers,
        content=json.dumps(body).encode(),
        extensions={"timeout": httpx2.Timeout(timeout_s).as_dict()},
    )


async def post_json(
    client: httpx2.AsyncClient,
    url: httpx2.URL,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout_s: float | None,
    ctx: CallContext,
) -> Any:
    """POST `body` as JSON; the reply's parsed JSON (ValueError when it is not JSON)."""
    response = await client.send(json_request(url, body, headers, timeout_s))
    raise_for_status(response, ctx)
    return json.loads(response.content)


async def sse_data(response: httpx2.Response) -> AsyncIterator[Any]:
    """The parsed JSON of each server-sent event's data (its `data:` lines joined), until
    `[DONE]` or the end of the stream."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith("data: ") else line[5:])
            continue
        if line or not data:
            continue  # `event:`, `id:`, a comment, or a blank line with nothing pending
        text, data = "\n".join(data), []
        if text.startswith("[DONE]"):
            return
        yield json.loads(text)
    if data and not data[0].startswith("[DONE]"):
        yield json.loads("\n".join(data))
