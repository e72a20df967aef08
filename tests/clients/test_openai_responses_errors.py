"""POST /v1/responses refuses what it cannot honour, and keeps the gates of the other /v1 routes:
400s naming the field, 401, 402, 429, 413, and a failed run reported as `response.failed`."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from orchestratex.runtime.auth import create_key
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.clients.test_openai_responses import WEATHER, client, sdk_http

REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"conversation": "conv_1"}, "not supported by this service: conversation"),
    ({"background": True}, "background"),
    ({"include": ["file_search_call.results"]}, "include"),
    ({"reasoning": {"effort": "high"}}, "reasoning"),
    ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ({"truncation": "auto"}, "truncation"),
    ({"tools": [{"type": "web_search"}]}, "tools[0] of type 'web_search'"),
    ({"tools": [WEATHER], "tool_choice": {"type": "file_search"}}, "tool_choice of type"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "name": "other"}}, "tool_choice"),
    ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "needs a name and a schema"),
    ({"max_output_tokens": 0}, "max_output_tokens"),
    ({"temperature": "hot"}, "temperature"),
    ({"stream": "yes"}, "stream"),
    ({"model": "fake-claude", "top_p": 0.5}, "fake-claude cannot honour top_p"),
    ({"model": "orchestratex/auto", "tools": [WEATHER]}, "name a catalog model to use tools"),
    ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "only text content"),
    ({"input": [{"type": "reasoning", "summary": []}]}, "items of type 'reasoning'"),
    ({"input": [{"type": "function_call", "name": "f"}]}, "needs call_id, arguments"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "items of type 'item_reference'"),
    ({"model": "orchestratex/auto", "input": ""}, "empty"),
]


@pytest.mark.parametrize(("fields", "says"), REFUSED)
async def test_what_cannot_be_honoured_is_a_400_naming_it(
    service: Running, fake: FakeProviderServer, fields: dict[str, Any], says: str
) -> None:
    body = {"model": "fake-gpt", "input": "hello", **fields}
    async with sdk_http(service) as http:
        refused = await http.post("/v1/responses", json=body)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["type"] == "invalid_request_error" and says in error["message"]
    assert fake.stats.requests_total == 0


BAD_SCHEMA = {"type": "object", "properties": {"a": {"type": "bogus"}}}
IN_RESPONSES_TERMS: list[tuple[dict[str, Any], str]] = [
    ({"input": []}, "input"),
    (
        {"text": {"format": {"type": "json_schema", "name": "x", "schema": BAD_SCHEMA}}},
        "text.format",
    ),
    ({"input": [{"role": "user", "content": "hi"}] * 1000, "instructions": "be brief"}, "input"),
]


@pytest.mark.parametrize(("fields", "param"), IN_RESPONSES_TERMS)
async def test_errors_name_the_responses_field_not_the_chat_field_it_became(
    service: Running, fields: dict[str, Any], param: str
) -> None:
    async with sdk_http(service) as http:
        body = {"model": "fake-gpt", "input": "hi", **fields}
        refused = await http.post("/v1/responses", json=body)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["param"] == param
    assert error["message"].startswith(param)
    assert "1001" not in error["message"]


async def test_sdk_errors_unknown_model_and_retrieval(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        with pytest.raises(openai.NotFoundError) as missing:
            await sdk.responses.create(model="no-such-model", input="hi")
        assert missing.value.code == "model_not_found"
        with pytest.raises(openai.NotFoundError, match="'resp_1' not found"):
            await sdk.responses.retrieve("resp_1")
    async with openai.AsyncOpenAI(
        base_url=f"{service.base_url}/v1", api_key="orx_not-a-real-key", max_retries=0
    ) as stranger:
        with pytest.raises(openai.AuthenticationError) as denied:
            await stranger.responses.create(model="fake-gpt", input="hi")
        with pytest.raises(openai.AuthenticationError):
            await stranger.responses.retrieve("resp_1")
    assert denied.value.type == "authentication_error"
    assert "orx_not-a-real-key" not in str(denied.value.body)
    async with sdk_http(service) as http:
        too_large = await http.post(
            "/v1/responses", json={"model": "fake-gpt", "input": "x" * 1_100_000}
        )
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "payload_too_large"
    assert fake.stats.requests_total == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_a_spent_budget_is_402_and_starts_nothing(
    service: Running, fake: FakeProviderServer, stream: bool
) -> None:
    running = service.app.state.service
    async with running.sessions() as session:
        frugal = await create_key(session, name="frugal", budget_usd=1e-9)
    async with openai.AsyncOpenAI(
        base_url=f"{service.base_url}/v1", api_key=frugal.key, max_retries=0
    ) as sdk:
        with pytest.raises(openai.APIStatusError) as refused:
            await sdk.responses.create(model="fake-gpt", input="hi", stream=stream)
    assert refused.value.status_code == 402 and refused.value.code == "budget_exceeded"
    async with httpx.AsyncClient(
        base_url=service.base_url, headers={"Authorization": f"Bearer {frugal.key}"}
    ) as http:
        assert (await http.get("/api/threads")).json()["total"] == 0
    assert fake.stats.requests_total == 0


async def test_the_request_limit_applies(service: Running, fake: FakeProviderServer) -> None:
    service.app.state.service.quotas.set_limits(1, None)
    async with client(service) as sdk:
        await sdk.responses.create(model="orchestratex/auto", input="first")
        with pytest.raises(openai.RateLimitError) as limited:
            await sdk.responses.create(model="orchestratex/auto", input="second")
    assert int(limited.value.response.headers["Retry-After"]) >= 1


async def test_a_failed_run_is_an_error_or_response_failed(
    service: Running, fake: FakeProviderServer
) -> None:
    fake.options.fail_rate = 1.0
    fake.options.faults = ["server_error"]
    async with client(service) as sdk:
        with pytest.raises(openai.InternalServerError) as failed:
            await sdk.responses.create(model="fake-gpt", input="hello")
        assert failed.value.status_code == 502
        stream = await sdk.responses.create(model="fake-gpt", input="hello", stream=True)
        events = [event async for event in stream]
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    last: Any = events[-1]
    assert last.response.status == "failed" and last.response.error.code == "server_error"
    assert last.response.error.message


async def test_the_route_is_documented(service: Running) -> None:
    async with httpx.AsyncClient(base_url=service.base_url) as http:
        schema = (await http.get("/openapi.json")).json()
    post = schema["paths"]["/v1/responses"]["post"]
    assert "Responses API" in post["description"] and post["tags"] == ["openai"]
    assert "/v1/responses/{response_id}" in schema["paths"]
