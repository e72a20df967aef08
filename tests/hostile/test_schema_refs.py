"""Callers' JSON schemas cannot make the service read files, fetch URLs, loop or backtrack
without end: refused with a 400 before any model is called, or the answer's check gives up
within its time limit (api/schema_check.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from orchestratex.api.schema_check import answer_problem, schema_problem
from tests.hostile.conftest import Target

BACKTRACKS = "^(a|aa)+$"
"""Exponential on Python's `re` for 'aaa...!' (each extra 'a' about doubles the time)."""


def _chat(schema: dict[str, Any], model: str = "orchestratex/auto") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "Give me JSON"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }


async def test_a_ref_to_a_file_or_url_is_refused_and_never_fetched(
    target: Target, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"enum": ["TOPSECRET-VALUE-42"]}')
    connections: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        for ref in (
            secret.as_uri(),
            f"http://127.0.0.1:{port}/schema.json",
            "other.json#/a",
        ):
            for model in ("orchestratex/auto", "fake-gpt"):
                reply = await target.http.post(
                    "/v1/chat/completions", json=_chat({"$ref": ref}, model)
                )
                assert reply.status_code == 400, reply.text
                message = reply.json()["error"]["message"]
                assert "may refer only to its own parts" in message
                assert "TOPSECRET" not in message
            nested = {"type": "object", "properties": {"a": {"items": {"$ref": ref}}}}
            reply = await target.http.post(
                "/v1/responses",
                json={
                    "model": "fake-gpt",
                    "input": "Give me JSON",
                    "text": {"format": {"type": "json_schema", "name": "x", "schema": nested}},
                },
            )
            assert reply.status_code == 400, reply.text
    finally:
        listener.close()
        await listener.wait_closed()
    assert connections == []
    await target.assert_intact()


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"type": "object", "$ref": "#"},
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
        {"$ref": "#/$defs/missing"},
    ],
)
async def test_a_schema_whose_references_loop_or_dangle_is_a_400(
    target: Target, schema: dict[str, Any]
) -> None:
    reply = await target.http.post(
        "/v1/messages",
        json={
            "model": "orchestratex/auto",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "Give me JSON"}],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        },
    )
    assert reply.status_code == 400, reply.text
    assert "cannot be used" in reply.json()["error"]["message"]
    await target.assert_intact()


async def test_an_answer_whose_pattern_backtracks_is_given_up_on_in_time(target: Target) -> None:
    schema = {"type": "string", "const": "a" * 40 + "!", "pattern": BACKTRACKS}
    reply = await target.http.post("/v1/chat/completions", json=_chat(schema))
    # The fake provider answers with the const; on Python's `re` this check would take days.
    assert reply.status_code == 502, reply.text
    assert "takes too long" in reply.json()["error"]["message"]
    await target.assert_intact()


def test_recursive_schemas_that_descend_still_work() -> None:
    tree = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$"},
            "kids": {"type": "array", "items": {"$ref": "#"}},
        },
        "required": ["name"],
    }
    assert schema_problem(tree) is None
    assert answer_problem(tree, {"name": "a", "kids": [{"name": "b", "kids": []}]}) is None
    problem = answer_problem(tree, {"name": "a", "kids": [{"name": "B"}]})
    assert problem is not None and "does not match" in problem
    keyed = {"type": "object", "patternProperties": {BACKTRACKS: {"type": "integer"}}}
    assert answer_problem(keyed, {"aa": 1}) is None
    problem = answer_problem(keyed, {"a" * 40 + "!": 1})
    assert problem is not None and "takes too long" in problem
