"""The same endpoints over a real uvicorn on a loopback port: `websockets` client and httpx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orchestratex.api.app import create_app
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.runtime.ws_hub import MAX_FRAME_BYTES
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderOptions, run_fake_provider
from tests.servers import uvicorn_on_loopback
from tests.waiting import until


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, Service]]:
    async with run_fake_provider(FakeProviderOptions(seed=1, latency_ms=100)) as fake:
        app = create_app(Settings(data_dir=tmp_path), catalog=fake_catalog(fake.openai_base_url))
        async with uvicorn_on_loopback(app) as address:
            yield address, app.state.service


async def _submit(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/orchestrate/prompt", json={"prompt": "hi", "max_rounds": 2})
    assert response.status_code == 202
    thread_id: str = response.json()["thread_id"]
    return thread_id


async def test_websocket_run_and_oversized_frame(served: tuple[str, Service]) -> None:
    base_url = served[0]
    async with httpx.AsyncClient(base_url=f"http://{base_url}", trust_env=False) as http:
        thread_id = await _submit(http)
        messages: list[dict[str, Any]] = []
        async with connect(f"ws://{base_url}/ws/thread/{thread_id}", proxy=None) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    messages.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        events = [m["event"] for m in messages if m["type"] == "event"]
        assert events[-1]["type"] == "completed"
        assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})

        async with connect(f"ws://{base_url}/ws/big", proxy=None) as ws:
            await ws.recv()
            await ws.send(json.dumps({"type": "ping", "pad": "x" * MAX_FRAME_BYTES}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert (await http.get("/healthz")).status_code == 200


async def test_sse_streams_as_it_happens(served: tuple[str, Service]) -> None:
    base_url = served[0]
    async with httpx.AsyncClient(base_url=f"http://{base_url}", trust_env=False) as http:
        thread_id = await _submit(http)
        first_event_at: float | None = None
        loop = asyncio.get_running_loop()
        kinds: list[str] = []
        async with http.stream("GET", f"/api/orchestrate/{thread_id}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    kinds.append(line.removeprefix("event: "))
                    first_event_at = first_event_at or loop.time()
        ended_at = loop.time()
        assert kinds[0] == "started" and kinds[-1] == "completed"
        assert first_event_at is not None and ended_at - first_event_at > 0.2, "not buffered"


async def test_a_client_that_leaves_releases_its_subscription(
    served: tuple[str, Service],
) -> None:
    base_url, service = served
    baseline = service.bus.subscriber_count
    async with httpx.AsyncClient(base_url=f"http://{base_url}", trust_env=False) as http:
        thread_id = await _submit(http)
        async with http.stream("GET", f"/api/orchestrate/{thread_id}/events") as response:
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    assert service.bus.subscriber_count == baseline + 1
                    break
        async with connect(f"ws://{base_url}/ws/thread/{thread_id}", proxy=None) as ws:
            await ws.recv()
            assert json.loads(await ws.recv())["type"] == "subscribed"
        await until(
            lambda: service.bus.subscriber_count == baseline,
            what="every subscription of the gone clients released",
        )
        assert service.is_live(thread_id), "the run itself goes on"
