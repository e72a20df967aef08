"""Pure parts: retry policy, Retry-After parsing, registry, message shaping."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from orchestratex.core.errors import (
    BadRequestError,
    CircuitOpenError,
    ConfigurationError,
    MalformedResponseError,
    ProviderUnavailableError,
    RateLimitedError,
)
from orchestratex.core.types import ChatMessage, ResponseFormat
from orchestratex.providers.anthropic_read import extract_json
from orchestratex.providers.anthropic_wire import AnthropicAdapter, split_messages
from orchestratex.providers.errors import CallContext, parse_retry_after
from orchestratex.providers.openai_compat import OpenAICompatAdapter, parse_completion
from orchestratex.providers.registry import adapter_factory
from orchestratex.providers.replay import ReplayAdapter
from orchestratex.providers.retry import RetryPolicy


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(max_retries=5, base_delay_s=0.5, max_delay_s=4.0)
    err = ProviderUnavailableError("x")
    assert [policy.delay_s(err, n, lambda: 1.0) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay_s(err, 3, lambda: 0.0) == 0.0
    assert policy.delay_s(err, 2, lambda: 0.25) == pytest.approx(0.5)


def test_retry_after_wins_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_after_s=10.0)
    assert policy.delay_s(RateLimitedError("x", retry_after_s=3.0), 0, lambda: 0.0) == 3.0
    assert policy.delay_s(RateLimitedError("x", retry_after_s=99.0), 0, lambda: 0.0) == 10.0
    assert policy.delay_s(RateLimitedError("x"), 0, lambda: 1.0) == 0.5


def test_what_is_retried() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry(ProviderUnavailableError("x"), 0)
    assert policy.should_retry(ProviderUnavailableError("x"), 1)
    assert not policy.should_retry(ProviderUnavailableError("x"), 2)
    assert not policy.should_retry(BadRequestError("x"), 0)
    assert not policy.should_retry(CircuitOpenError("x"), 0)


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    parsed = parse_retry_after({"retry-after": later})
    assert parsed is not None and 25 <= parsed <= 31


def test_registry_is_lazy_and_refuses_unknown_protocols() -> None:
    assert adapter_factory("openai") is OpenAICompatAdapter
    assert adapter_factory("anthropic") is AnthropicAdapter
    with pytest.raises(ConfigurationError, match="carrier-pigeon"):
        adapter_factory("carrier-pigeon")
    assert adapter_factory("replay") is ReplayAdapter
    assert adapter_factory("replay", {"replay": AnthropicAdapter}) is AnthropicAdapter


def test_anthropic_messages_are_split_and_merged() -> None:
    messages = [
        ChatMessage(role="system", content="S1"),
        ChatMessage(role="user", content="a"),
        ChatMessage(role="user", content="b"),
        ChatMessage(role="assistant", content="c"),
        ChatMessage(role="system", content="S2"),
        ChatMessage(role="user", content="d"),
    ]
    fmt = ResponseFormat(type="json_schema", json_schema={"type": "object"})
    system, turns = split_messages(messages, fmt)
    assert system.startswith("S1\n\nS2\n\nAnswer with one JSON object only")
    assert '{"type": "object"}' in system
    assert turns == [
        {"role": "user", "content": "a\n\nb"},
        {"role": "assistant", "content": "c"},
        {"role": "user", "content": "d"},
    ]


def test_extract_json_drops_fences_and_prose() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert extract_json('Sure! {"a": {"b": 2}} Hope it helps.') == '{"a": {"b": 2}}'
    assert extract_json("no json here") == "no json here"
    assert extract_json("{broken") == "{broken"


def _reply(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "hi"}
    reply: dict[str, Any] = {
        "id": "c1",
        "model": "served-m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }
    return reply | changes


CTX = CallContext("prov", "m", ())


def test_a_whole_reply_is_read_from_its_json() -> None:
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
        {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": None}},
    ]
    message = {"role": "assistant", "content": None, "tool_calls": calls}
    choice = {"index": 0, "message": message, "finish_reason": "function_call"}
    raw = parse_completion(_reply(choices=[choice]), "m", CTX)
    assert raw.text == "" and raw.finish_reason == "tool_calls"
    assert (raw.usage.input_tokens, raw.usage.output_tokens) == (7, 3)
    assert raw.provider_model == "served-m"
    assert [(c.id, c.name, c.arguments) for c in raw.tool_calls] == [
        ("call_1", "f", '{"a":1}'),
        ("call_2", "g", "{}"),
    ]
    assert parse_completion(_reply(model=None), "m", CTX).provider_model == "m"


@pytest.mark.parametrize(
    "reply",
    [
        [],
        _reply(choices=[]),
        _reply(usage=None),
        _reply(usage={"prompt_tokens": -1, "completion_tokens": 3}),
        _reply(usage={"prompt_tokens": True, "completion_tokens": 3}),
        _reply(choices=[{"message": {"content": 5}}]),
        _reply(choices=[{"message": {"content": None, "tool_calls": [{"id": "x"}]}}]),
    ],
)
def test_a_reply_missing_what_the_service_needs_is_malformed(reply: Any) -> None:
    with pytest.raises(MalformedResponseError):
        parse_completion(reply, "m", CTX)
