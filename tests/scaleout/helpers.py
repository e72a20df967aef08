"""Small helpers of the scale-out tests: submit, poll the database, follow a WebSocket."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from orchestratex.store.db import create_session_factory
from orchestratex.store.tables import ACTIVE_STATUSES, EventRecord, Response, Thread
from tests.waiting import until

ENDED = ("completed", "failed", "cancelled", "interrupted")


async def submit(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], prompt: str, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"{base}/api/orchestrate/prompt", json={"prompt": prompt, **fields}, headers=headers
    )


async def thread_row(engine: AsyncEngine, thread_id: str) -> Thread | None:
    async with create_session_factory(engine)() as session:
        return await session.get(Thread, thread_id)


async def event_types(engine: AsyncEngine, thread_id: str) -> list[tuple[int, str, int | None]]:
    """(seq, type, round) of the logged events, in seq order."""
    async with create_session_factory(engine)() as session:
        rows = await session.execute(
            select(EventRecord.seq, EventRecord.type, EventRecord.payload)
            .where(EventRecord.thread_id == thread_id)
            .order_by(EventRecord.seq)
        )
        return [(seq, kind, payload.get("round")) for seq, kind, payload in rows]


async def answers(engine: AsyncEngine, thread_id: str) -> dict[int, str]:
    async with create_session_factory(engine)() as session:
        rows = await session.scalars(select(Response).where(Response.thread_id == thread_id))
        return {r.round: r.text for r in rows}


async def wait_for(engine: AsyncEngine, thread_id: str, check: Any, timeout_s: float) -> None:
    """Poll until `check(thread, events)` holds; on time-out, say what was last seen."""
    last: list[object] = [None, []]

    async def holds() -> bool:
        thread = await thread_row(engine, thread_id)
        events = await event_types(engine, thread_id)
        last[:] = [thread.status if thread else None, events[-5:]]
        return thread is not None and bool(check(thread, events))

    try:
        await until(holds, what=f"thread {thread_id}", timeout_s=timeout_s, every_s=0.05)
    except AssertionError:
        raise AssertionError(f"timed out: status {last[0]}, events {last[1]}") from None


async def wait_judged(engine: AsyncEngine, thread_id: str, round_: int = 1) -> None:
    """Wait until round `round_` of the thread has its evaluation logged."""
    await wait_for(
        engine, thread_id, lambda t, e: any(k == "evaluation" and r == round_ for _s, k, r in e), 30
    )


async def submit_long_run(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], prompt: str
) -> str:
    """A run of three rounds that never stops early (threshold 9.9); returns its thread id."""
    sent = await submit(client, base, headers, prompt, max_rounds=3, threshold=9.9)
    assert sent.status_code == 202, sent.text
    thread_id: str = sent.json()["thread_id"]
    return thread_id


async def unfinished(engine: AsyncEngine) -> int:
    """How many threads are still queued or running."""
    async with create_session_factory(engine)() as session:
        found = await session.scalar(
            select(func.count()).select_from(Thread).where(Thread.status.in_(ACTIVE_STATUSES))
        )
    return int(found or 0)


async def wait_ended(engine: AsyncEngine, thread_id: str, timeout_s: float) -> str:
    await wait_for(engine, thread_id, lambda t, _e: t.status in ENDED, timeout_s)
    thread = await thread_row(engine, thread_id)
    assert thread is not None
    return thread.status


async def follow_ws(base: str, thread_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every message of /ws/thread/{id} until the server closes the socket."""
    uri = base.replace("http://", "ws://") + f"/ws/thread/{thread_id}"
    messages: list[dict[str, Any]] = []
    async with connect(uri, additional_headers=headers, open_timeout=10) as ws:
        async for frame in ws:
            messages.append(json.loads(frame))
    return messages
