"""Limits applied before a request reaches a route: a body size cap, enforced while the body
streams in (chunked bodies included), and a URL that holds no NUL character."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestratex.api.error_shapes import shaped_error

DEFAULT_MAX_BODY_BYTES = 1_000_000


async def send_json(send: Send, status: int, body: dict[str, object]) -> None:
    """Answer with `body` as JSON before any route runs."""
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Answers 413 `payload_too_large` when a request body exceeds `max_bytes`, in the error
    shape of the path's clients (see `shaped_error`)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                declared = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and declared > self.max_bytes:
            await self._reject(scope, send)
            return
        if declared is not None and not chunked:
            # The server delivers no more body than the declared length (bytes past it are
            # the next request), so a body declared within the cap stays within it.
            await self.app(scope, receive, send)
            return
        seen = 0
        too_large = False
        responded = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body overflowed, whatever the app answers is replaced by our 413.
            nonlocal responded
            if too_large:
                if not responded:
                    responded = True
                    await self._reject(scope, send)
                return
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if too_large and not responded:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        message = f"the request body exceeds {self.max_bytes} bytes"
        body = shaped_error(str(scope.get("path", "")), 413, "payload_too_large", message)
        await send_json(send, 413, body)


class UrlTextGuard:
    """Keeps NUL characters (`%00`) in the URL away from every route.

    No thread id, search text or parameter may hold NUL, and PostgreSQL cannot even compare
    with it; this one gate answers before any route runs: 404 `not_found` for a path holding
    one (nothing is stored under such a name), 422 `invalid_request` for a query string holding
    one, as for any invalid parameter. On /v1 the error has the OpenAI or Anthropic shape (and
    400, not 422).
    A WebSocket handshake with such a URL is refused (403).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "replace")
        in_path = _has_nul(raw_path)
        if not in_path and not _has_nul(scope.get("query_string") or b""):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        path = str(scope.get("path", ""))
        status = 404 if in_path else 422
        if path.startswith("/v1/") and not in_path:
            status = 400  # the OpenAI and Anthropic APIs answer invalid input 400
        code = "not_found" if in_path else "invalid_request"
        message = "no such resource" if in_path else "the query must not contain NUL characters"
        await send_json(send, status, shaped_error(path, status, code, message))


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in unquote_to_bytes(raw)
