"""A passthrough with tools is one upstream call, and its thread keeps the conversation, the
options and the tool calls (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.openai_api.conftest import Served
from tests.waiting import until

TOOL: Any = {
    "type": "function",
    "function": {"name": "search", "parameters": {"type": "object", "properties": {}}},
}


async def test_tool_call_passthrough_is_stored_with_its_options(
    served: Served, fake: FakeProviderServer
) -> None:
    fake.reset_stats()
    client = served.client()
    completion = await client.chat.completions.create(
        model="fake-mistral",
        messages=[{"role": "user", "content": "Look it up"}],
        tools=[TOOL],
        temperature=0.1,
        seed=5,
    )
    await client.close()
    assert fake.stats.requests_total == 1
    [call] = completion.choices[0].message.tool_calls or []
    thread_id = (completion.model_extra or {})["orchestratex"]["thread_id"]

    async with served.http() as http:

        async def stored() -> dict[str, Any] | None:
            found: dict[str, Any] = (await http.get(f"/api/threads/{thread_id}")).json()
            return found if found["thread"]["status"] == "completed" else None

        # The store writes in batches: wait (with a deadline) for the stored thread.
        detail = await until(stored, what="the thread stored as completed", timeout_s=15)
        events = await http.get(f"/api/orchestrate/{thread_id}/events")
    request = detail["request"]
    assert request["judge_count"] == 0 and request["model"] == "fake-mistral"
    assert request["options"]["temperature"] == 0.1 and request["options"]["seed"] == 5
    assert request["options"]["tools"][0]["name"] == "search"
    assert request["messages"] == [
        {"role": "user", "content": "Look it up", "tool_calls": [], "tool_call_id": None}
    ]
    responses = [
        json.loads(block.split("\ndata: ", 1)[1])
        for block in events.text.split("\n\n")
        if "\nevent: response\n" in f"\n{block}"
    ]
    assert [r["tool_calls"][0]["id"] for r in responses] == [call.id]
