"""Live events of one thread as Server-Sent Events, resumable with `Last-Event-ID`.

Each event is sent as `id: <seq>`, `event: <type>`, `data: <json>`; a `: ping` comment goes out
whenever nothing was sent for the hub's heartbeat interval; the stream ends after the thread's
terminal event.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.errors import ApiError
from orchestratex.api.routes.ws import hub_of
from orchestratex.core.events import Event
from orchestratex.runtime.live import SubscriberLagged, open_service_feed, with_heartbeats
from orchestratex.runtime.service import Service

router = APIRouter(prefix="/api/orchestrate", tags=["live"])

MAX_LAST_EVENT_ID_CHARS = 18
"""`Last-Event-ID` is 1..18 ASCII digits (an event seq); blank means from the start."""


def format_event(event: Event) -> str:
    """One SSE message; the JSON is on one line, so one `data:` field holds it."""
    return f"id: {event.seq}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n"


def _after_seq(last_event_id: str | None) -> int:
    if last_event_id is None or not last_event_id.strip():
        return 0
    value = last_event_id.strip()
    # str.isdigit() alone also accepts "²" or "١", which int() refuses or reads differently.
    if len(value) > MAX_LAST_EVENT_ID_CHARS or not (value.isascii() and value.isdigit()):
        raise ApiError(400, "bad_request", "Last-Event-ID must be an event seq (an integer)")
    return int(value)


async def _stream(
    service: Service, thread_id: str, after_seq: int, heartbeat_s: float
) -> AsyncIterator[str]:
    try:
        async with (
            open_service_feed(service, thread_id, after_seq=after_seq) as feed,
            contextlib.aclosing(with_heartbeats(feed.events(), heartbeat_s)) as items,
        ):
            async for event in items:
                yield ": ping\n\n" if event is None else format_event(event)
    except SubscriberLagged:
        error = {"code": "lagged", "message": "the stream fell behind; reconnect to resume"}
        yield f"event: error\ndata: {json.dumps(error)}\n\n"


@router.get("/{thread_id}/events")
async def thread_events(
    thread_id: str,
    request: Request,
    service: ServiceDep,
    user: CurrentUser,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> StreamingResponse:
    """The thread's stored events after `Last-Event-ID`, then live ones, as text/event-stream."""
    after_seq = _after_seq(last_event_id)
    if await service.status(thread_id, user=user) is None:
        raise ApiError(404, "thread_not_found", "no such thread")
    heartbeat_s = hub_of(request.app).heartbeat_s
    return StreamingResponse(
        _stream(service, thread_id, after_seq, heartbeat_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
