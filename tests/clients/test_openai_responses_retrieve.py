"""`client.responses.retrieve`, `input_items.list` and `delete` against GET/DELETE
/v1/responses/{id}: a response read back from the caller's threads."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from orchestratex.runtime.auth import create_key
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running
from tests.clients.test_openai_responses import WEATHER, client, sdk_http

NOT_KEPT = {"created_at", "metadata", "user", "store"}
"""What the thread does not keep (created_at: the run's start, within a second of the POST)."""
POINT = {
    "type": "object",
    "properties": {"x": {"type": "number"}},
    "required": ["x"],
    "additionalProperties": False,
}


def same_response(posted: Any, retrieved: Any) -> None:
    assert retrieved.model_dump(exclude=NOT_KEPT) == without_parsed(
        posted.model_dump(exclude=NOT_KEPT)
    )
    assert 0 <= posted.created_at - retrieved.created_at <= 1
    assert retrieved.metadata == {} and retrieved.store is True


def without_parsed(dumped: dict[str, Any]) -> dict[str, Any]:
    """A response's dump without the `parsed` the SDK's stream helper adds to output text."""
    for item in dumped["output"]:
        for part in item.get("content") or []:
            part.pop("parsed", None)
    return dumped


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude", "orchestratex/auto"])
async def test_retrieve_returns_the_response_the_post_returned(
    service: Running, fake: FakeProviderServer, model: str
) -> None:
    sampling: dict[str, Any] = {"temperature": 0.4} if model == "fake-gpt" else {}
    async with client(service) as sdk:
        posted = await sdk.responses.create(
            model=model,
            instructions="Answer briefly.",
            input="What is a monad?",
            **sampling,
            metadata={"ticket": "T-1"},
        )
        calls = fake.stats.requests_total
        retrieved = await sdk.responses.retrieve(posted.id)
    assert fake.stats.requests_total == calls, "reading a response calls no model"
    assert retrieved.status == "completed" and retrieved.output_text == posted.output_text
    assert retrieved.instructions == "Answer briefly." and retrieved.model == model
    assert retrieved.usage is not None and retrieved.usage.total_tokens > 0
    same_response(posted, retrieved)


async def test_a_streamed_json_response_reads_back_the_same(service: Running) -> None:
    text: Any = {"format": {"type": "json_schema", "name": "point", "schema": POINT}}
    async with (
        client(service) as sdk,
        sdk.responses.stream(model="fake-gpt", input="A point", text=text) as stream,
    ):
        async for _ in stream:
            pass
        posted = await stream.get_final_response()
        retrieved = await sdk.responses.retrieve(posted.id)
    fmt: Any = retrieved.text.model_dump(by_alias=True)["format"] if retrieved.text else None
    assert fmt["type"] == "json_schema" and fmt["schema"] == POINT
    same_response(posted, retrieved)


async def test_function_calls_and_the_input_items_of_a_chain(
    service: Running, fake: FakeProviderServer
) -> None:
    async with client(service) as sdk:
        first = await sdk.responses.create(
            model="fake-gpt", input="Weather in Rome?", tools=[WEATHER], tool_choice="required"
        )
        second = await sdk.responses.create(
            model="fake-gpt",
            instructions="Be brief.",
            input=[{"type": "function_call_output", "call_id": "x", "output": "sunny"}],
            tools=[WEATHER],
            previous_response_id=first.id,
        )
        got_first = await sdk.responses.retrieve(first.id)
        newest = await sdk.responses.input_items.list(second.id)
        oldest = [
            item async for item in sdk.responses.input_items.list(second.id, order="asc", limit=1)
        ]
        firsts = await sdk.responses.input_items.list(first.id)
    same_response(first, got_first)
    [call] = got_first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert got_first.tool_choice == "required" and got_first.tools[0].type == "function"
    assert got_first.tools[0].model_dump()["name"] == "get_weather"
    assert [i.type for i in oldest] == ["message", "function_call", "function_call_output"]
    first_input, earlier_call, output = oldest
    assert first_input.type == "message" and first_input.role == "user"
    assert first_input.content[0].model_dump()["text"] == "Weather in Rome?"
    assert earlier_call.type == "function_call" and earlier_call.call_id == call.call_id
    assert output.type == "function_call_output" and output.output == "sunny"
    assert [i.id for i in newest.data] == [i.id for i in reversed(oldest)]
    assert newest.has_more is False and len({i.id for i in oldest}) == 3
    assert [i.type for i in firsts.data] == ["message"]


async def test_a_cut_reply_reads_back_incomplete(service: Running) -> None:
    async with client(service) as sdk:
        posted = await sdk.responses.create(
            model="fake-gpt", input="Write an essay", max_output_tokens=5
        )
        retrieved = await sdk.responses.retrieve(posted.id)
    assert retrieved.status == "incomplete" and retrieved.incomplete_details is not None
    assert retrieved.incomplete_details.reason == "max_output_tokens"
    same_response(posted, retrieved)


@pytest.mark.parametrize("kind", ["unknown", "malformed", "another user's"])
async def test_a_response_the_caller_cannot_see_is_a_404(service: Running, kind: str) -> None:
    wanted = {"unknown": "resp_0123456789abcdef", "malformed": "nonsense"}.get(kind)
    if wanted is None:
        async with service.app.state.service.sessions() as session:
            other = await create_key(session, name="someone else")
        async with openai.AsyncOpenAI(
            base_url=f"{service.base_url}/v1", api_key=other.key, max_retries=0
        ) as theirs:
            wanted = (await theirs.responses.create(model="fake-gpt", input="Secret plans")).id
    async with client(service) as sdk:
        for read in (
            sdk.responses.retrieve(wanted),
            sdk.responses.input_items.list(wanted),
            sdk.responses.delete(wanted),
        ):
            with pytest.raises(openai.NotFoundError) as caught:
                await read
            error: Any = caught.value.body
            assert error["code"] == "not_found" and error["param"] == "response_id"
            assert wanted in error["message"] and "Secret" not in str(error)


async def test_delete_is_refused_and_keeps_the_response(service: Running) -> None:
    async with client(service) as sdk:
        posted = await sdk.responses.create(model="fake-gpt", input="Keep me")
        with pytest.raises(openai.APIStatusError) as refused:
            await sdk.responses.delete(posted.id)
        kept = await sdk.responses.retrieve(posted.id)
    assert refused.value.status_code == 405
    assert refused.value.response.headers["allow"] == "GET"
    assert "cannot be deleted" in refused.value.message
    assert kept.output_text == posted.output_text


async def test_what_a_read_cannot_honour_is_a_400(service: Running) -> None:
    async with client(service) as sdk:
        posted = await sdk.responses.create(model="fake-gpt", input="hi")
    async with sdk_http(service) as http:
        streamed = await http.get(f"/v1/responses/{posted.id}", params={"stream": "true"})
        included = await http.get(
            f"/v1/responses/{posted.id}", params={"include[]": "message.output_text.logprobs"}
        )
        plain = await http.get(f"/v1/responses/{posted.id}/input_items", params={"include": "x"})
        far = await http.get(f"/v1/responses/{posted.id}/input_items", params={"limit": 101})
        lost = await http.get(f"/v1/responses/{posted.id}/input_items", params={"after": "item_x"})
    for refused, param in (
        (streamed, "stream"),
        (included, "include"),
        (plain, "include"),
        (lost, "after"),
    ):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == param
    assert far.status_code == 400 and far.json()["error"]["type"] == "invalid_request_error"
