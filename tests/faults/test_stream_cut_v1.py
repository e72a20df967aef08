"""A /v1 stream whose model breaks off mid-answer: the client never gets two answers spliced.

The engine answers such a round with another model (test_stream_cuts.py), but the client of a
live stream has already been sent part of the first model's text, which cannot be taken back. So
the stream ends with an error after that partial text instead of appending the other answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from orchestratex.api.app import create_app
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FaultKind
from tests.faults.tap import Exchange, TappedProvider


async def _first_stream_cut(
    tmp_path: Path, tapped: TappedProvider, path: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    """The JSON payloads of a /v1 stream whose first upstream stream is cut mid-answer."""
    streams = [0]

    def plan(exchange: Exchange) -> FaultKind | None:
        if not exchange.stream:
            return None
        streams[0] += 1
        return "cut" if streams[0] == 1 else None

    tapped.plan = plan
    app = create_app(Settings(data_dir=tmp_path), catalog=fake_catalog(tapped.openai_base_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://localhost")
        async with http, http.stream("POST", path, json=body) as reply:
            assert reply.status_code == 200
            return [
                json.loads(line.removeprefix("data: "))
                async for line in reply.aiter_lines()
                if line.startswith("data: {")
            ]


async def test_a_live_stream_whose_model_breaks_off_ends_with_an_error(
    tmp_path: Path, tapped: TappedProvider
) -> None:
    body = {
        "model": "orchestratex/auto",
        "messages": [{"role": "user", "content": "Describe a lighthouse."}],
        "stream": True,
    }
    payloads = await _first_stream_cut(tmp_path, tapped, "/v1/chat/completions", body)
    texts = [p["choices"][0]["delta"].get("content") or "" for p in payloads if p.get("choices")]
    models = {p["model"] for p in payloads if p.get("choices")}
    errors = [p["error"] for p in payloads if "error" in p]
    assert "".join(texts), "part of the first answer was streamed before the cut"
    assert errors and errors[-1]["code"] == "stream_broken", payloads[-1]
    assert len(models) == 1
    assert not any(p.get("choices") and p["choices"][0].get("finish_reason") for p in payloads)


async def test_a_live_responses_stream_whose_model_breaks_off_ends_failed(
    tmp_path: Path, tapped: TappedProvider
) -> None:
    body = {"model": "orchestratex/auto", "input": "Describe a lighthouse.", "stream": True}
    events = await _first_stream_cut(tmp_path, tapped, "/v1/responses", body)
    kinds = [e["type"] for e in events]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas), "part of the first answer was streamed before the cut"
    assert kinds[-1] == "response.failed" and "response.completed" not in kinds
    assert "broke off" in events[-1]["response"]["error"]["message"]
    assert "response.output_text.done" not in kinds
