"""The `--server` client: SSE parsing and resume with Last-Event-ID, and its error lines."""

from __future__ import annotations

import httpx
import pytest

from orchestratex.cli.client import ServerClient
from orchestratex.cli.errors import CliError
from orchestratex.cli.progress import mode_note
from orchestratex.core.events import AnalysisEvent, CancelledEvent, StartedEvent
from orchestratex.core.orchestration import Analysis, OrchestrationRequest
from orchestratex.core.types import Domain


def _sse(*events: StartedEvent | AnalysisEvent | CancelledEvent) -> str:
    return "".join(f"id: {e.seq}\nevent: {e.type}\ndata: {e.model_dump_json()}\n\n" for e in events)


async def test_events_resume_after_a_dropped_stream() -> None:
    started = StartedEvent(thread_id="t1", seq=1, request=OrchestrationRequest(prompt="hi"))
    analysed = AnalysisEvent(
        thread_id="t1", seq=2, analysis=Analysis(domain=Domain.GENERAL, complexity=0.1)
    )
    ended = CancelledEvent(thread_id="t1", seq=3)
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/orchestrate/t1/events"
        assert request.headers["authorization"] == "Bearer orx_test"
        last = request.headers.get("last-event-id")
        seen.append(last)
        body = ": ping\n\n" + _sse(started, analysed) if last is None else _sse(ended)
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    transport = httpx.MockTransport(handler)
    async with ServerClient("http://orx.test", "orx_test", transport=transport) as client:
        got = [event async for event in client.events("t1")]
    assert [e.seq for e in got] == [1, 2, 3]
    assert isinstance(got[2], CancelledEvent)
    assert seen == [None, "2"]


async def test_stream_error_and_http_errors_become_one_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            text = 'event: error\ndata: {"code": "lagged", "message": "fell behind"}\n\n'
            return httpx.Response(200, text=text)
        if request.url.path == "/healthz":
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "x"}})
        return httpx.Response(503, json={"error": {"code": "unavailable", "message": "db down"}})

    async with ServerClient("http://orx.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(CliError, match="the event stream failed: fell behind"):
            _ = [event async for event in client.events("t1")]
        with pytest.raises(CliError, match="^the server needs an API key: pass --api-key"):
            await client.healthz()
        with pytest.raises(
            CliError, match="submitting: the server answered 503 unavailable: db down"
        ):
            await client.submit(OrchestrationRequest(prompt="hi"))


def test_mode_note() -> None:
    assert mode_note(None) is None and mode_note("live") is None
    replay = mode_note("replay")
    assert replay is not None and "replay" in replay
    assert mode_note("demo") == "the service runs in demo mode"
