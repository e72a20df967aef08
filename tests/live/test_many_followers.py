"""Twenty followers join a 200-chunk run at random moments, over WebSocket and SSE, on a real
uvicorn server: each receives every event once, in seq order, chunks included — also those that
join after the run ended."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orchestratex.api.app import create_app
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider
from tests.servers import uvicorn_on_loopback
from tests.waiting import status_ended

WORDS = 1200  # the fake streams six words a chunk: 200 chunks
FOLLOWERS = 20


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[str]:
    # Half the latency goes before the first byte, half is spread over the 200 chunks.
    async with run_fake_provider(FakeProviderOptions(seed=1, latency_ms=3000)) as fake:
        app = create_app(Settings(data_dir=tmp_path), catalog=fake_catalog(fake.openai_base_url))
        async with uvicorn_on_loopback(app) as address:
            yield address


async def _ws(base: str, thread_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with connect(f"ws://{base}/ws/thread/{thread_id}", proxy=None) as ws:
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "event":
                    events.append(message["event"])
        except ConnectionClosed:
            pass
    return events


async def _sse(http: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with http.stream("GET", f"/api/orchestrate/{thread_id}/events") as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: ") :]))
    return events


async def test_twenty_followers_at_random_moments_see_every_event_once(served: str) -> None:
    prompt = "ECHO: " + " ".join(f"w{i}" for i in range(WORDS))
    body = {
        "prompt": prompt,
        "model": "fake-gpt",
        "max_rounds": 1,
        "judge_count": 0,
        "max_tokens": 4000,
    }
    rng = random.Random(7)
    async with httpx.AsyncClient(base_url=f"http://{served}", trust_env=False, timeout=60) as http:
        response = await http.post("/api/orchestrate/prompt", json=body)
        assert response.status_code == 202, response.text
        thread_id = response.json()["thread_id"]

        async def follower(index: int) -> list[dict[str, Any]]:
            # The sleep is what is under test: each follower joins at a random moment (some
            # after the end); there is no condition to wait for.
            await asyncio.sleep(rng.uniform(0.0, 4.0))
            if index % 2:
                return await _sse(http, thread_id)
            return await _ws(served, thread_id)

        results = await asyncio.wait_for(
            asyncio.gather(*(follower(i) for i in range(FOLLOWERS))), 60
        )
        # The terminal event is stored within milliseconds.
        status = await status_ended(http, thread_id, timeout_s=10)
    last = status["last_seq"]
    assert status["status"] == "completed"
    for events in results:
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, last + 1)), (len(seqs), last)
    chunks = [e for e in results[0] if e["type"] == "response_chunk"]
    assert len(chunks) >= 200
    assert "".join(c["text"] for c in chunks).count(" w") >= WORDS - 1
