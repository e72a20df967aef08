"""A small async client for a running OrchestrateX service (the CLI's `--server` mode).

Every failure the server reports becomes a `CliError` with one clear line; the API key goes only
into the Authorization header and never into a message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from orchestratex.cli.errors import EXIT_CONFIG, CliError
from orchestratex.core.events import Event, is_terminal, parse_event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.analytics import Bucket, Dashboard

REQUEST_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0
STREAM_READ_TIMEOUT_S = 60.0
"""The server sends a heartbeat every 15 s, so a silent minute means the stream is dead."""
STREAM_RETRIES = 3
KEY_HINT = "pass --api-key or set ORX_API_KEY"


def normalise_url(url: str) -> str:
    """`url` without a trailing slash; only http(s) URLs are accepted."""
    clean = url.strip().rstrip("/")
    parsed = httpx.URL(clean)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(
            f"--server must be an http:// or https:// URL, not {url!r}", exit_code=EXIT_CONFIG
        )
    return clean


def _error_parts(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (str(code) if code else None), (str(message) if message else None)


class ServerClient:
    """Talks to one service at `base_url`; use as `async with ServerClient(...) as client`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = normalise_url(base_url)
        self._has_key = bool(api_key)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        """A CliError naming what failed and why, unless the response is a success."""
        if response.is_success:
            return
        code, message = _error_parts(response)
        status = response.status_code
        if status == 401:
            if self._has_key:
                raise CliError(f"the server rejected the API key (401): check it; {KEY_HINT}")
            raise CliError(f"the server needs an API key: {KEY_HINT}")
        detail = message or response.reason_phrase or "no details"
        if status == 403:
            raise CliError(f"{what}: forbidden: {detail}")
        label = f"{status} {code}" if code else str(status)
        raise CliError(f"{what}: the server answered {label}: {detail}")

    async def _json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        self._raise_for(response, what)
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CliError(f"{what}: the server's answer is not JSON") from None

    async def healthz(self) -> dict[str, Any]:
        """The liveness document: `status`, `version`, `auth`, and `mode` if the server has it."""
        body = await self._json("GET", "/healthz", "health check")
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise CliError(f"{self.base_url} does not look like an OrchestrateX service")
        return body

    async def submit(self, request: OrchestrationRequest) -> str:
        """Start a run; the server fills what the request leaves unset. Returns the thread id."""
        payload = request.model_dump(mode="json", exclude_unset=True)
        body = await self._json("POST", "/api/orchestrate/prompt", "submitting", json=payload)
        return str(body["thread_id"])

    async def status(self, thread_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self._json(
            "GET", f"/api/orchestrate/status/{thread_id}", "reading the status"
        )
        return body

    async def cancel(self, thread_id: str) -> bool:
        """Ask the server to cancel; False when the run had already ended."""
        response = await self._http.post(f"/api/orchestrate/{thread_id}/cancel")
        if response.status_code == 409:
            return False
        self._raise_for(response, "cancelling")
        return True

    async def models_health(self) -> dict[str, Any]:
        body: dict[str, Any] = await self._json(
            "GET", "/api/orchestrate/models/health", "reading model health"
        )
        return body

    async def self_test(self) -> dict[str, Any]:
        body: dict[str, Any] = await self._json(
            "POST", "/api/orchestrate/test", "running the self-test", timeout=120.0
        )
        return body

    async def dashboard(
        self, period: Bucket, since: datetime | None = None, until: datetime | None = None
    ) -> Dashboard:
        params: dict[str, str] = {"period": period}
        if since is not None:
            params["since"] = since.isoformat()
        if until is not None:
            params["until"] = until.isoformat()
        body = await self._json(
            "GET", "/api/analytics/dashboard", "reading analytics", params=params
        )
        return Dashboard.model_validate(body)

    async def events(self, thread_id: str, *, after_seq: int = 0) -> AsyncIterator[Event]:
        """The thread's events (stored, then live) until its terminal one.

        A dropped stream is resumed with `Last-Event-ID`, a few times at most.
        """
        last = after_seq
        failures = 0
        while True:
            try:
                async for event in self._stream_once(thread_id, last):
                    last = event.seq
                    failures = 0
                    yield event
                    if is_terminal(event):
                        return
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout):
                pass
            failures += 1
            if failures > STREAM_RETRIES:
                raise CliError(
                    f"the event stream from {self.base_url} ended before the run finished"
                )
            await asyncio.sleep(0.2 * failures)

    async def _stream_once(self, thread_id: str, after_seq: int) -> AsyncIterator[Event]:
        headers = {"Accept": "text/event-stream"}
        if after_seq:
            headers["Last-Event-ID"] = str(after_seq)
        timeout = httpx.Timeout(
            REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S, read=STREAM_READ_TIMEOUT_S
        )
        url = f"/api/orchestrate/{thread_id}/events"
        async with self._http.stream("GET", url, headers=headers, timeout=timeout) as response:
            if not response.is_success:
                await response.aread()
                self._raise_for(response, "following the run")
            async for kind, data in _sse_messages(response.aiter_lines()):
                if kind == "error":
                    raise CliError(f"the event stream failed: {_stream_error(data)}")
                yield parse_event(data)


def _stream_error(data: str) -> str:
    try:
        body = json.loads(data)
    except json.JSONDecodeError:
        return data[:200]
    return str(body.get("message") or body) if isinstance(body, dict) else str(body)


async def _sse_messages(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event type, data) per Server-Sent Events message; comments (heartbeats) are skipped."""
    kind, data = "message", list[str]()
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield kind, "\n".join(data)
            kind, data = "message", list[str]()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "data":
            data.append(value)
    if data:
        yield kind, "\n".join(data)
