"""Hostile HTTP input: every request below gets a 4xx with the JSON error shape, never a 5xx,
and after each group the service still serves and the stored thread is unchanged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.hostile.conftest import Target

PROMPT = "/api/orchestrate/prompt"
JSON = {"content-type": "application/json"}


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    code: str = body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    return code


async def test_prompt_text_edge_cases(target: Target) -> None:
    http = target.http
    for prompt in ("", " ", "  \n\t \r\n ", "\u00a0\u2003"):
        response = await http.post(PROMPT, json={"prompt": prompt})
        assert response.status_code == 422, (prompt, response.text)
        assert error_code(response) == "invalid_request"
        assert "prompt" in response.json()["error"]["message"]

    too_long = await http.post(PROMPT, json={"prompt": "a" * 100_001})
    assert too_long.status_code == 422 and error_code(too_long) == "invalid_request"
    system = await http.post(PROMPT, json={"prompt": "hi", "system": "s" * 100_001})
    assert system.status_code == 422

    megabyte = await http.post(PROMPT, json={"prompt": "a" * 1_048_576})
    assert megabyte.status_code == 413 and error_code(megabyte) == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(20):
            yield b"b" * 65_536
        yield b'"}'

    chunked = await http.post(PROMPT, content=chunks(), headers=JSON)
    assert chunked.status_code == 413, "a chunked body without Content-Length is capped too"
    await target.assert_intact()


async def test_oversized_bodies_on_v1_answer_in_the_client_s_error_shape(target: Target) -> None:
    """The size cap answers before any route, yet an OpenAI or Anthropic client still gets an
    error body its SDK can read."""
    http = target.http
    huge = "a" * 1_048_576
    chat = {"model": "orchestratex/auto", "messages": [{"role": "user", "content": huge}]}
    openai_shape = await http.post("/v1/chat/completions", json=chat)
    assert openai_shape.status_code == 413
    error = openai_shape.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "payload_too_large"
    assert "bytes" in error["message"]

    messages = {**chat, "max_tokens": 10}
    anthropic_shape = await http.post("/v1/messages", json=messages)
    assert anthropic_shape.status_code == 413
    assert anthropic_shape.json() == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "the request body exceeds 1000000 bytes"},
    }

    nul_query = await http.post("/v1/messages?x=%00", json={**messages, "messages": []})
    assert nul_query.status_code == 400
    assert nul_query.json()["error"]["type"] == "invalid_request_error"
    assert nul_query.json()["type"] == "error"
    await target.assert_intact()


WRONG_TYPES: dict[str, list[Any]] = {
    "prompt": [123, None, [], {}, True],
    "system": [1, [], {"a": 1}],
    "max_rounds": ["three", 2.5, [], {}, None],
    "threshold": ["high", [], {}, None],
    "preferences": ["fast", [], 1],
    "model": [1, [], {}],
    "judges": ["fake-gpt", [1], {}, 3],
    "judge_count": ["two", 1.5, []],
    "deadline_s": ["soon", []],
    "max_tokens": ["many", 1.5, {}],
}
WRONG_PREFERENCES: dict[str, list[Any]] = {
    "quality_weight": ["a", [], {}],
    "cost_weight": ["a", None],
    "latency_weight": [[1]],
    "allowed_models": ["fake-gpt", [1], {}],
    "budget_usd": ["lots", []],
    "unknown": [1],
}


async def test_wrong_json_types_for_every_field(target: Target) -> None:
    http = target.http
    cases: list[tuple[str, dict[str, Any]]] = []
    for field, values in WRONG_TYPES.items():
        cases += [(field, {"prompt": "hi", field: v}) for v in values]
    for field, values in WRONG_PREFERENCES.items():
        cases += [(field, {"prompt": "hi", "preferences": {field: v}}) for v in values]
    cases.append(("evil", {"prompt": "hi", "evil": "<script>"}))
    for field, body in cases:
        response = await http.post(PROMPT, json=body)
        assert response.status_code == 422, (body, response.text)
        assert error_code(response) == "invalid_request"
        named = [f["field"] for f in response.json()["error"]["fields"]]
        assert any(field in name for name in named), (body, named)
    await target.assert_intact()


OUT_OF_RANGE: list[dict[str, Any]] = [
    {"max_rounds": 0},
    {"max_rounds": 11},
    {"max_rounds": -1},
    {"max_rounds": 10**30},
    {"threshold": -0.01},
    {"threshold": 10.01},
    {"threshold": 1e308},
    {"judge_count": 6},
    {"deadline_s": 0},
    {"deadline_s": -5},
    {"max_tokens": 0},
    {"max_tokens": 200_001},
    {"preferences": {"quality_weight": -0.5}},
    {"preferences": {"cost_weight": 1.5}},
    {"preferences": {"latency_weight": 2}},
    {"preferences": {"budget_usd": 0}},
    {"preferences": {"budget_usd": -1}},
]


async def test_out_of_range_values(target: Target) -> None:
    for extra in OUT_OF_RANGE:
        response = await target.http.post(PROMPT, json={"prompt": "hi", **extra})
        assert response.status_code == 422, (extra, response.text)
        assert error_code(response) == "invalid_request"
    for raw in (b'{"prompt": "hi", "threshold": NaN}', b'{"prompt": "hi", "max_rounds": 1e999}'):
        response = await target.http.post(PROMPT, content=raw, headers=JSON)
        assert 400 <= response.status_code < 500, (raw, response.text)
    await target.assert_intact()


async def test_unknown_models_and_judges(target: Target) -> None:
    bodies: list[dict[str, Any]] = [
        {"model": "gpt-99"},
        {"model": "../../etc/passwd"},
        {"judges": ["fake-gpt", "no-such-judge"]},
        {"preferences": {"allowed_models": ["nope"]}},
    ]
    for extra in bodies:
        response = await target.http.post(PROMPT, json={"prompt": "hi", **extra})
        assert response.status_code == 404, (extra, response.text)
        assert error_code(response) == "unknown_model"
    # Keys no catalog could hold are refused by the request model itself.
    unusable: list[dict[str, Any]] = [
        {"model": "fake-gpt\u0000"},
        {"model": "fake-gpt\udc00"},
        {"model": "x" * 5000},
        {"judges": ["x" * 201]},
        {"model": ""},
    ]
    for extra in unusable:
        body = json.dumps({"prompt": "hi", **extra})  # ASCII: "\udc00" stays an escape
        response = await target.http.post(
            PROMPT, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, (extra, response.text)
        assert error_code(response) == "invalid_request"
    await target.assert_intact()


async def test_malformed_bodies_and_content_types(target: Target) -> None:
    http = target.http
    raw_bodies: list[tuple[bytes, int]] = [
        (b'{"prompt": "hi"', 400),
        (b"{prompt: hi}", 400),
        (b"\xff\xfe\x00\x80", 400),
        (b'{"prompt": "\xff\xfe"}', 400),
        (b"[" * 200_000, 400),
        (b'{"prompt": "x", "max_rounds": 1' + b"0" * 5000 + b"}", 400),
        (b"", 422),
        (b"null", 422),
        (b"[]", 422),
        (b'"just a string"', 422),
        (b'{"prompt": "\\ud800"}', 422),
    ]
    for raw, status in raw_bodies:
        response = await http.post(PROMPT, content=raw, headers=JSON)
        assert response.status_code == status, (raw[:40], response.text)
        assert error_code(response) in ("malformed_json", "invalid_request"), response.text
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "", "image/png"):
        response = await http.post(
            PROMPT, content=b'{"prompt": "hi"}', headers={"content-type": content_type}
        )
        assert 400 <= response.status_code < 500, (content_type, response.text)
        error_code(response)
    wrong_method = await http.put(PROMPT, json={"prompt": "hi"})
    assert wrong_method.status_code == 405 and error_code(wrong_method) == "method_not_allowed"
    await target.assert_intact()


HOSTILE_IDS = [
    "nope",
    "..",
    "%2e%2e",
    "..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "a" * 10_000,
    "%F0%9F%92%A9",
    "%E2%80%AE",
    "%FF%FE",
    "a%00b",
    "1%27%20OR%20%271%27%3D%271",
    "%25",
]


async def test_unknown_thread_ids(target: Target) -> None:
    http = target.http
    for thread_id in HOSTILE_IDS:
        for method, url in (
            ("GET", f"/api/orchestrate/status/{thread_id}"),
            ("GET", f"/api/threads/{thread_id}"),
            ("POST", f"/api/orchestrate/{thread_id}/cancel"),
            ("GET", f"/api/orchestrate/{thread_id}/events"),
        ):
            response = await http.request(method, url)
            assert response.status_code == 404, (method, url[:80], response.text)
            assert error_code(response) in ("thread_not_found", "not_found")
    await target.assert_intact()


async def test_hostile_headers(target: Target) -> None:
    http = target.http
    huge = await http.get("/api/threads", headers={"X-Padding": "p" * 60_000})
    assert huge.status_code < 500
    many = await http.get("/api/threads", headers={f"X-H{i}": "v" for i in range(500)})
    assert many.status_code < 500

    events_url = f"/api/orchestrate/{target.thread_id}/events"
    bad_ids: list[str | bytes] = ["abc", "-1", "1.5", "1" * 30, "0x10", "1e3", b"\xc3\xa9"]
    for value in bad_ids:
        raw = value if isinstance(value, bytes) else value.encode()
        response = await http.get(events_url, headers=[(b"Last-Event-ID", raw)])
        assert response.status_code == 400, (value, response.text)
        assert error_code(response) == "bad_request"
    resumed = await http.get(events_url, headers={"Last-Event-ID": "999999"})
    assert resumed.status_code == 200 and "event:" not in resumed.text

    bad_auth: list[str | bytes] = [
        "Bearer " + "x" * 10_000,
        "Bearer orx_" + "x" * 300,
        "Bearer " + target.key + "x",
        "Bearer " + target.key[:-1],
        "Bearer",
        "bearer two words",
        "Basic " + target.key,
        b"Bearer orx_\xc3\xa9\xff",
        target.key,
    ]
    for value in bad_auth:
        raw = value if isinstance(value, bytes) else value.encode()
        response = await http.get("/api/threads", headers=[(b"Authorization", raw)])
        assert response.status_code in (401, 403), (value, response.text)
        assert target.key not in response.text
    await target.assert_intact()


CHAT = "/v1/chat/completions"
USER = {"role": "user", "content": "hi"}


async def test_chat_completions_hostile_bodies(target: Target) -> None:
    http = target.http
    bodies: list[dict[str, Any] | list[Any] | None] = [
        {},
        None,
        [],
        {"model": "orchestratex/auto"},
        {"model": "orchestratex/auto", "messages": "hi"},
        {"model": "orchestratex/auto", "messages": []},
        {"model": "orchestratex/auto", "messages": [{"role": "assistant", "content": "x"}]},
        {"model": "orchestratex/auto", "messages": [{"role": "user", "content": "   "}]},
        {"model": "orchestratex/auto", "messages": [{"role": "user", "content": None}]},
        {"model": "orchestratex/auto", "messages": [{"role": "evil", "content": "x"}]},
        {"model": "orchestratex/auto", "messages": [{"content": "x"}]},
        {
            "model": "orchestratex/auto",
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}],
        },
        {"model": "orchestratex/auto", "messages": [{"role": "user", "content": 5}]},
        {"model": "orchestratex/auto", "messages": [{"role": "user", "content": "a" * 100_001}]},
        {"model": "orchestratex/auto", "messages": [USER] * 1001},
        {"model": "no-such-model", "messages": [USER]},
        {"model": "", "messages": [USER]},
        {"model": 7, "messages": [USER]},
        {"model": "orchestratex/auto", "messages": [USER], "n": 2},
        {"model": "orchestratex/auto", "messages": [USER], "max_tokens": 0},
        {"model": "orchestratex/auto", "messages": [USER], "max_tokens": 10**9},
        {"model": "orchestratex/auto", "messages": [USER], "temperature": 9},
        {"model": "orchestratex/auto", "messages": [USER], "stream": "maybe"},
        {"model": "orchestratex/auto", "messages": [USER], "stream_options": "x"},
    ]
    for body in bodies:
        response = await http.post(CHAT, json=body)
        assert 400 <= response.status_code < 500, (str(body)[:80], response.text)
        error = response.json()["error"]
        assert isinstance(error["message"], str) and isinstance(error["type"], str)
    for raw in (b"\xff\xfe", b'{"model": ', b"[" * 100_000, b"x" * 1_100_000):
        response = await http.post(CHAT, content=raw, headers=JSON)
        assert response.status_code in (400, 413), (raw[:20], response.text)
    for raw in (b'{"model": "\xff\xfe"}', b"[" * 100_000):
        response = await http.post(CHAT, content=raw, headers=JSON)
        error = response.json()["error"]
        assert error["code"] == "invalid_request", (raw[:20], error)
        assert error["message"].startswith("the request body is not valid JSON"), error
    await target.assert_intact()


async def test_analytics_hostile_queries(target: Target) -> None:
    queries = [
        "since=9999-12-31T23:59:59-23:59",
        "until=0001-01-01T00:00:00%2B23:59",
        "since=99999-01-01",
        "since=2026-01-01&until=2025-01-01",
        "since=not-a-date",
        "user_id=" + "u" * 100,
        "user_id=someone-else",
    ]
    for name in ("usage", "costs", "models", "selection-accuracy", "dashboard"):
        for query in queries:
            response = await target.http.get(f"/api/analytics/{name}?{query}")
            assert 400 <= response.status_code < 500, (name, query, response.text)
            error_code(response)
    for name in ("costs", "dashboard"):
        response = await target.http.get(f"/api/analytics/{name}?period=century")
        assert response.status_code == 422, response.text
    for query in ("q=%00", "q=%FF%FE", "limit=0", "limit=-1", "offset=-1", "limit=99999999999"):
        response = await target.http.get(f"/api/threads?{query}")
        assert response.status_code in (200, 422), (query, response.text)
    await target.assert_intact()
