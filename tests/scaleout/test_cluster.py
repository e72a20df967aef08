"""Two API instances and workers over PostgreSQL and Redis, as separate processes."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.runtime.auth import create_key
from orchestratex.store.db import create_session_factory
from orchestratex.store.tables import Prompt, Thread
from tests.scaleout.conftest import REQUESTS_PER_MINUTE, Cluster
from tests.scaleout.helpers import (
    answers,
    event_types,
    follow_ws,
    submit,
    submit_long_run,
    unfinished,
    wait_ended,
    wait_for,
    wait_judged,
)


async def test_run_submitted_to_b_streams_to_a(cluster: Cluster, db: AsyncEngine) -> None:
    prompt = "Explain the difference between a process and a thread."
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await submit(client, cluster.b, cluster.headers, prompt, max_rounds=2)
    assert sent.status_code == 202
    thread_id = sent.json()["thread_id"]
    messages = await asyncio.wait_for(follow_ws(cluster.a, thread_id, cluster.headers), 60)
    assert messages[0]["type"] == "ready"
    assert messages[1]["type"] == "subscribed"
    events = [m["event"] for m in messages if m["type"] == "event"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert events[-1]["type"] == "completed"
    assert events[0]["type"] == "started"
    assert seqs == list(range(1, len(seqs) + 1)), "every event once, chunks included"
    await wait_ended(db, thread_id, 30)
    stored = await event_types(db, thread_id)
    assert set(seqs) == {s for s, _k, _r in stored}
    async with create_session_factory(db)() as session:
        copies = await session.scalar(
            select(func.count()).select_from(Prompt).where(Prompt.text == prompt)
        )
        thread = await session.get(Thread, thread_id)
    assert copies == 1
    assert thread is not None and thread.status == "completed" and thread.runner_id


async def test_cancel_through_a_stops_the_worker_run(cluster: Cluster, db: AsyncEngine) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        sent = await submit(
            client,
            cluster.b,
            cluster.headers,
            "Write a long essay on rivers.",
            max_rounds=5,
            threshold=10,
        )
        thread_id = sent.json()["thread_id"]
        await wait_for(db, thread_id, lambda t, e: any(k == "response" for _s, k, _r in e), 30)
        cancelled = await client.post(
            f"{cluster.a}/api/orchestrate/{thread_id}/cancel", headers=cluster.headers
        )
    assert cancelled.status_code == 202
    assert await wait_ended(db, thread_id, 20) == "cancelled"
    kinds = [kind for _seq, kind, _round in await event_types(db, thread_id)]
    assert kinds[-1] == "cancelled"
    assert "completed" not in kinds


async def test_rate_limit_holds_across_instances(cluster: Cluster, db: AsyncEngine) -> None:
    async with create_session_factory(db)() as session:
        key = (await create_key(session, name="limited")).key
    headers = {"Authorization": f"Bearer {key}"}
    codes: list[int] = []
    accepted: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(REQUESTS_PER_MINUTE + 4):
            base = cluster.a if i % 2 == 0 else cluster.b
            sent = await submit(client, base, headers, f"Name a prime number ({i}).", max_rounds=1)
            codes.append(sent.status_code)
            if sent.status_code == 202:
                accepted.append(sent.json()["thread_id"])
        for thread_id in accepted:
            await client.post(f"{cluster.a}/api/orchestrate/{thread_id}/cancel", headers=headers)
    assert codes.count(202) == REQUESTS_PER_MINUTE
    assert codes.count(429) == 4
    for thread_id in accepted:
        assert await wait_ended(db, thread_id, 30) in ("cancelled", "completed")


async def test_killed_worker_run_resumes_on_another(cluster: Cluster, db: AsyncEngine) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        thread_id = await submit_long_run(
            client, cluster.a, cluster.headers, "Describe how tides work."
        )
    await wait_judged(db, thread_id)
    cluster.replace_worker()
    before = await answers(db, thread_id)
    status = await wait_ended(db, thread_id, 60)
    assert status in ("completed", "interrupted")
    after = await answers(db, thread_id)
    assert after[1] == before[1]
    events = await event_types(db, thread_id)
    starts = [seq for seq, kind, _round in events if kind == "started"]
    if status == "completed":
        assert len(starts) == 2
        resumed = [(k, r) for s, k, r in events if s > starts[1] and k == "response"]
        assert resumed and resumed[0][1] is not None and resumed[0][1] >= 2
        assert sorted(after) == list(range(1, len(after) + 1))
    assert await unfinished(db) == 0


async def test_sigterm_hands_the_run_to_another_worker_with_its_rounds(
    cluster: Cluster, db: AsyncEngine
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        thread_id = await submit_long_run(
            client, cluster.a, cluster.headers, "Explain how vaccines train the immune system."
        )
    await wait_judged(db, thread_id)
    before = await answers(db, thread_id)
    cluster.replace_worker(signal.SIGTERM)
    status = await wait_ended(db, thread_id, 60)
    after = await answers(db, thread_id)
    events = await event_types(db, thread_id)
    assert status == "completed", "handed back and finished, never interrupted"
    assert after[1] == before[1], "the completed round is kept"
    assert sorted(after) == [1, 2, 3]
    seqs = [seq for seq, _kind, _round in events]
    assert seqs == sorted(set(seqs))


async def test_a_v1_client_hanging_up_cancels_the_worker_run(
    cluster: Cluster, db: AsyncEngine
) -> None:
    """The API instance that streams the reply does not run it: the hang-up reaches the worker
    as a cancel request."""
    async with create_session_factory(db)() as session:
        key = (await create_key(session, name="leaver")).key
    body = {
        "model": "orchestratex/refine",
        "stream": True,
        "messages": [{"role": "user", "content": "Write a long essay on lakes."}],
    }
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream(
            "POST",
            f"{cluster.a}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        ) as reply,
    ):
        assert reply.status_code == 200
        lines = reply.aiter_lines()
        line = ""
        while not line.startswith("data:"):
            line = await anext(lines)
    thread_id = json.loads(line.removeprefix("data:"))["id"].removeprefix("chatcmpl-")
    assert await wait_ended(db, thread_id, 30) == "cancelled"
    kinds = [kind for _seq, kind, _round in await event_types(db, thread_id)]
    assert "completed" not in kinds
