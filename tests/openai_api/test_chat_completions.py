"""The official `openai` SDK against the OpenAI-compatible routes, over real HTTP on loopback."""

from __future__ import annotations

import openai
import pytest
from sqlalchemy import func, select

from orchestratex.api import answer_parts
from orchestratex.store.tables import Thread, UsageRecord
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.openai_api.conftest import Served
from tests.waiting import until

CATALOG_KEYS = {"fake-gpt", "fake-claude", "fake-grok", "fake-qwen", "fake-llama", "fake-mistral"}


TERMINAL = ("completed", "failed", "cancelled")


async def _statuses(served: Served, count: int) -> list[str]:
    """The statuses of the stored threads once `count` of them are terminal (the store writes
    in batches, so the reply can come before the rows)."""

    async def stored() -> list[str] | None:
        async with served.service.sessions() as session:
            statuses = list((await session.execute(select(Thread.status))).scalars().all())
        return statuses if sum(s in TERMINAL for s in statuses) >= count else None

    return await until(stored, what=f"{count} threads stored as ended", timeout_s=15)


async def _settled(served: Served, thread_id: str) -> None:
    """Wait (with a deadline) until the thread's terminal status is stored."""

    async def stored() -> bool:
        async with served.service.sessions() as session:
            thread = await session.get(Thread, thread_id)
        return thread is not None and thread.status in TERMINAL

    await until(stored, what=f"thread {thread_id} stored as ended", timeout_s=15)


async def _recorded(served: Served, thread_id: str) -> tuple[int, int, float]:
    """Input tokens, output tokens and cost of the thread's usage records."""
    await served.service.flush(thread_id)
    async with served.service.sessions() as session:
        row = (
            await session.execute(
                select(
                    func.sum(UsageRecord.input_tokens),
                    func.sum(UsageRecord.output_tokens),
                    func.sum(UsageRecord.cost_usd),
                ).where(UsageRecord.thread_id == thread_id)
            )
        ).one()
    return int(row[0] or 0), int(row[1] or 0), float(row[2] or 0.0)


async def _thread(served: Served, thread_id: str) -> Thread:
    await served.service.flush(thread_id)
    async with served.service.sessions() as session:
        thread = await session.get(Thread, thread_id)
    assert thread is not None
    return thread


async def test_refine_runs_the_full_loop_and_sums_usage(served: Served) -> None:
    client = served.client()
    completion = await client.chat.completions.create(
        model="orchestratex/refine",
        messages=[{"role": "user", "content": "Explain how a hash map works"}],
        max_tokens=300,
        temperature=0.2,
        extra_body={"some_unknown_field": {"ignored": True}},
    )
    assert completion.object == "chat.completion"
    assert completion.model == "orchestratex/refine"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert choice.message.content is not None
    assert "fake provider" in choice.message.content
    assert "(revision 2)" in choice.message.content, "the third round's answer won"

    ext = completion.model_extra["orchestratex"] if completion.model_extra else {}
    thread_id = ext["thread_id"]
    assert completion.id == f"chatcmpl-{thread_id}"
    assert ext["rounds"] == 3 and ext["best_round"] == 3
    assert ext["score"] == pytest.approx(8.0)
    assert ext["selected_model"] in CATALOG_KEYS
    assert ext["stop_reason"] == "threshold"

    tin, tout, cost = await _recorded(served, thread_id)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == tin > 0
    assert completion.usage.completion_tokens == tout > 0
    assert completion.usage.total_tokens == tin + tout
    assert ext["cost_usd"] == pytest.approx(cost) and cost > 0

    thread = await _thread(served, thread_id)
    assert thread.user_id == served.key.user_id
    assert thread.status == "completed"
    await client.close()


async def test_auto_is_one_round(served: Served, fake: FakeProviderServer) -> None:
    client = served.client()
    completion = await client.chat.completions.create(
        model="orchestratex/auto",
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "What is a monad?"},
            {"role": "assistant", "content": "A design pattern."},
            {"role": "user", "content": [{"type": "text", "text": "Say more about bind"}]},
        ],
        max_completion_tokens=200,
    )
    ext = completion.model_extra["orchestratex"] if completion.model_extra else {}
    assert ext["rounds"] == 1
    assert completion.choices[0].message.content is not None
    assert "(revision 0)" in completion.choices[0].message.content
    assert completion.usage is not None
    tin, tout, _ = await _recorded(served, ext["thread_id"])
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (tin, tout)

    async with served.http() as http:
        detail = (await http.get(f"/api/threads/{ext['thread_id']}")).json()
    assert detail["system"] == "Answer briefly."
    prompt = detail["prompt"]
    assert prompt.startswith("Earlier conversation:")
    assert "[assistant]\nA design pattern." in prompt
    assert prompt.endswith("Current message:\n\nSay more about bind")
    assert detail["request"]["max_rounds"] == 1 and detail["request"]["max_tokens"] == 200
    await client.close()


async def test_catalog_key_forces_that_model(served: Served) -> None:
    client = served.client()
    completion = await client.chat.completions.create(
        model="fake-llama", messages=[{"role": "user", "content": "Write a limerick"}]
    )
    ext = completion.model_extra["orchestratex"] if completion.model_extra else {}
    assert ext["selected_model"] == "fake-llama"
    assert ext["rounds"] == 1
    await client.close()


async def _collect(
    stream: openai.AsyncStream[openai.types.chat.ChatCompletionChunk],
) -> tuple[list[openai.types.chat.ChatCompletionChunk], str]:
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return chunks, text


async def test_streaming_refine_sends_the_best_answer_and_usage(served: Served) -> None:
    client = served.client()
    stream = await client.chat.completions.create(
        model="orchestratex/refine",
        messages=[{"role": "user", "content": "Describe the water cycle"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks, text = await _collect(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishing) == 1 and finishing[0].choices[0].finish_reason == "stop"
    ext = finishing[0].model_extra["orchestratex"] if finishing[0].model_extra else {}
    assert ext["rounds"] == 3

    thread_id = ext["thread_id"]
    await _settled(served, thread_id)
    async with served.http() as http:
        status = (await http.get(f"/api/orchestrate/status/{thread_id}")).json()
    assert text == status["answer"] and "(revision 2)" in text
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1, "the answer arrives in pieces"

    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    tin, tout, _ = await _recorded(served, thread_id)
    assert usage_chunk.usage.prompt_tokens == tin
    assert usage_chunk.usage.completion_tokens == tout
    assert usage_chunk.usage.total_tokens == tin + tout
    await client.close()


async def test_streaming_auto_streams_live(served: Served, fake: FakeProviderServer) -> None:
    client = served.client()
    stream = await client.chat.completions.create(
        model="orchestratex/auto",
        messages=[{"role": "user", "content": "Name three prime numbers"}],
        stream=True,
    )
    chunks, text = await _collect(stream)
    assert "(revision 0)" in text
    assert all(c.usage is None for c in chunks), "no usage chunk unless asked"
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    ext = final.model_extra["orchestratex"] if final.model_extra else {}
    await _settled(served, ext["thread_id"])
    async with served.http() as http:
        status = (await http.get(f"/api/orchestrate/status/{ext['thread_id']}")).json()
    assert text == status["answer"]
    assert status["rounds"] == 1
    await client.close()


async def test_keepalive_comments_while_refining(
    served: Served, fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer_parts, "KEEPALIVE_S", 0.05)
    fake.options.latency_ms = 150
    body = {
        "model": "orchestratex/refine",
        "messages": [{"role": "user", "content": "Plan a trip"}],
        "stream": True,
    }
    async with (
        served.http() as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines()]
    assert ": keep-alive" in lines
    assert [line for line in lines if line][-1] == "data: [DONE]"


async def test_models_list(served: Served) -> None:
    client = served.client()
    page = await client.models.list()
    ids = [m.id for m in page.data]
    assert ids[:2] == ["orchestratex/auto", "orchestratex/refine"]
    assert set(ids[2:]) == CATALOG_KEYS
    assert all(m.object == "model" for m in page.data)
    await client.close()


async def test_errors_have_the_openai_shape(served: Served) -> None:
    client = served.client()
    with pytest.raises(openai.NotFoundError) as missing:
        await client.chat.completions.create(
            model="gpt-nonexistent", messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.code == "model_not_found"
    assert missing.value.type == "invalid_request_error"

    with pytest.raises(openai.BadRequestError) as empty:
        await client.chat.completions.create(model="orchestratex/auto", messages=[])
    assert empty.value.code == "invalid_request"
    assert "messages" in empty.value.message

    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(
            model="orchestratex/auto", messages=[{"role": "assistant", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError) as too_long:
        await client.chat.completions.create(
            model="orchestratex/auto",
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=10_000_000,
        )
    assert too_long.value.param == "max_tokens"
    with pytest.raises(openai.NotFoundError):
        await client.chat.completions.create(
            model="no-such", messages=[{"role": "user", "content": "hi"}], stream=True
        )

    stranger = served.client("orx_not-a-real-key")
    with pytest.raises(openai.AuthenticationError) as denied:
        await stranger.models.list()
    assert denied.value.type == "authentication_error"
    assert "orx_not-a-real-key" not in str(denied.value.body)

    async with served.http() as http:
        malformed = await http.post(
            "/v1/chat/completions",
            content=b'{"model": ',
            headers={"content-type": "application/json"},
        )
    assert malformed.status_code == 400
    error = malformed.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    await client.close()
    await stranger.close()


@pytest.mark.parametrize("catalog_options", [{"max_retries": 0}])
async def test_a_failed_run_is_an_error_streaming_or_not(
    served: Served, fake: FakeProviderServer
) -> None:
    fake.options.fail_rate = 1.0
    fake.options.faults = ["server_error"]
    client = served.client()
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "hello"}
    ]
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model="orchestratex/auto", messages=messages)
    assert failed.value.status_code == 502
    assert failed.value.type == "server_error"

    stream = await client.chat.completions.create(
        model="orchestratex/auto", messages=messages, stream=True
    )
    with pytest.raises(openai.APIError) as mid_stream:
        await _collect(stream)
    assert mid_stream.value.message
    assert await _statuses(served, 2) == ["failed", "failed"]
    await client.close()
