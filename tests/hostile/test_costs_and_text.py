"""Issue 14's defects, as a client would meet them: a request cannot multiply upstream calls past
the documented caps (counted at the fake provider's /stats), text that cannot be stored or sent
is a 4xx in each route family's error shape, and header and URL values are parsed strictly."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.hostile.server import Served, serve
from tests.waiting import status_ended

PROMPT = "/api/orchestrate/prompt"
CHAT = "/v1/chat/completions"
AUTO = "orchestratex/auto"
JSON = {"Content-Type": "application/json"}
UNSENDABLE = ("nul \u0000 here", "lone \udc00 surrogate", "\ud800")


def upstream_calls(served: Served) -> int:
    """Completion requests the fake provider has received (through its HTTP /stats)."""
    stats = httpx.get(f"{served.fake.base_url}/stats", trust_env=False, timeout=10).json()
    total: int = stats["requests_total"]
    return total


def ascii_json(body: dict[str, Any]) -> str:
    """JSON with escapes, so a lone surrogate travels as `\\udc00` (as hostile clients send it)."""
    return json.dumps(body)


def api_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str), body
    code: str = body["error"]["code"]
    return code


def openai_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "code", "param"}, error
    assert error["type"] == "invalid_request_error"
    return error


async def test_judges_and_rounds_are_capped_by_settings(tmp_path: Path) -> None:
    caps = {"max_judges": 2, "max_rounds": 2, "judge_count": 1, "default_max_rounds": 1}
    with serve(tmp_path, settings=caps) as served:
        async with httpx.AsyncClient(base_url=served.base_url, trust_env=False, timeout=30) as http:
            before = upstream_calls(served)
            started = time.monotonic()
            flood_body = {"prompt": "hi", "judges": ["fake-claude"] * 10_000}
            flood = await http.post(PROMPT, json=flood_body)
            assert api_error(flood, 422) == "invalid_request"
            assert "judges" in flood.json()["error"]["message"]
            assert time.monotonic() - started < 5.0
            over: list[dict[str, Any]] = [
                {"judges": ["fake-claude", "fake-grok", "fake-qwen"]},
                {"judge_count": 3},
                {"max_rounds": 3},
                {"max_rounds": 11},
                {"judge_count": 6},
            ]
            for extra in over:
                response = await http.post(PROMPT, json={"prompt": "hi", **extra})
                assert api_error(response, 422) == "invalid_request", extra
                field = next(iter(extra))
                assert field in response.json()["error"]["message"], extra
            assert upstream_calls(served) == before, "a refused request called no provider"

            # Repeats are dropped: two copies of two judges are two judges.
            rounds, judges = 2, ["fake-claude", "fake-grok"]
            accepted = await http.post(
                PROMPT,
                json={
                    "prompt": "Explain why the sky is blue",
                    "model": "fake-gpt",
                    "judges": judges * 2,
                    "max_rounds": rounds,
                    "threshold": 10.0,
                },
            )
            assert accepted.status_code == 202, accepted.text
            thread_id = accepted.json()["thread_id"]
            await status_ended(http, thread_id, timeout_s=60)
            made = upstream_calls(served) - before
            assert 0 < made <= rounds * (1 + len(judges)), made
            detail = (await http.get(f"/api/threads/{thread_id}")).json()
            seen = json.dumps(detail)
            assert seen.count('"judge": "fake-claude"') <= rounds
            assert (await http.get("/healthz")).status_code == 200


async def test_unsendable_text_is_a_4xx_on_api_and_v1(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.base_url, trust_env=False, timeout=30) as http:
            before = upstream_calls(served)
            for text in UNSENDABLE:
                for field in ("prompt", "system"):
                    api_body = {"prompt": "hi", field: text}
                    response = await http.post(PROMPT, content=ascii_json(api_body), headers=JSON)
                    assert api_error(response, 422) == "invalid_request", (field, text)
                    assert field in response.json()["error"]["message"]
                    assert "Value error" not in response.text  # pydantic's label, not ours
                conversations: list[list[dict[str, Any]]] = [
                    [{"role": "user", "content": text}],
                    [{"role": "system", "content": text}, {"role": "user", "content": "hi"}],
                    [{"role": "user", "content": [{"type": "text", "text": text}]}],
                    [{"role": "assistant", "content": text}, {"role": "user", "content": "hi"}],
                ]
                for messages in conversations:
                    for stream in (False, True):
                        chat = {"model": AUTO, "stream": stream, "messages": messages}
                        response = await http.post(CHAT, content=ascii_json(chat), headers=JSON)
                        error = openai_error(response)
                        assert error["param"] == "messages", error
                        assert text not in error["message"]
                        assert "Value error" not in error["message"]
            assert upstream_calls(served) == before


async def test_v1_types_are_strict_as_in_the_openai_api(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.base_url, trust_env=False, timeout=30) as http:
            messages = [{"role": "user", "content": "hi"}]
            wrong: list[dict[str, Any]] = [
                {"stream": "yes"},
                {"stream": 1},
                {"stream": "true"},
                {"max_tokens": "5"},
                {"max_tokens": 5.5},
                {"max_tokens": True},
                {"temperature": "0.5"},
                {"stream_options": {"include_usage": "yes"}},
                {"n": "1"},
                {"model": 5},
                {"messages": [{"role": "user", "content": 5}]},
                {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
                {"messages": [{"role": "user", "content": [{"type": "text"}] * 101}]},
                {"messages": messages * 1001},
            ]
            for extra in wrong:
                body = {"model": "orchestratex/auto", "messages": messages, **extra}
                error = openai_error(await http.post(CHAT, json=body))
                assert error["param"] == next(iter(extra)), (extra, error)
            fine = {"model": "orchestratex/auto", "messages": messages, "temperature": 1}
            assert (await http.post(CHAT, json=fine)).status_code == 200
            # null is "not set", as the OpenAI API takes it; some clients send every field so.
            unset = {"model": "orchestratex/auto", "messages": messages, "stream": None}
            replied = await http.post(CHAT, json=unset)
            assert replied.status_code == 200 and replied.json()["object"] == "chat.completion"


async def test_headers_and_urls_are_parsed_strictly(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.base_url, trust_env=False, timeout=30) as http:
            submitted = await http.post(PROMPT, json={"prompt": "hi", "max_rounds": 1})
            thread_id = submitted.json()["thread_id"]
            await status_ended(http, thread_id)
            events = f"/api/orchestrate/{thread_id}/events"
            for value in (b"\xb2", b"\xb9", b"1\xb2", "١".encode(), b"-1", b"+1", b"0x1", b"1 2"):
                response = await http.get(events, headers={b"Last-Event-ID": value})
                assert api_error(response, 400) == "bad_request", value
            too_long = await http.get(events, headers={"Last-Event-ID": "9" * 19})
            assert api_error(too_long, 400) == "bad_request"
            async with http.stream("GET", events, headers={"Last-Event-ID": "1"}) as stream:
                assert stream.status_code == 200
                text = (await asyncio.wait_for(stream.aread(), 30)).decode()
            assert "id: 1\n" not in text and "event: completed" in text

            for url in ("/api/threads/%00", "/api/orchestrate/status/a%00b", f"{events}%00"):
                response = await http.get(url)
                assert api_error(response, 404) == "not_found", url
            for url in (f"{events}?x=%00", "/api/threads?q=%00", "/api/threads?q=a&%00=1"):
                response = await http.get(url)
                assert api_error(response, 422) == "invalid_request", url
            v1 = await http.get("/v1/models?x=%00")
            assert v1.status_code == 400 and v1.json()["error"]["type"] == "invalid_request_error"
            assert (await http.get("/api/threads?q=%2500")).status_code == 200
