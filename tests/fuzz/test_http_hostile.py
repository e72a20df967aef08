"""Hypothesis against the served service: hostile bodies, headers and URLs on the routes that take
input. Every reply must come within the time bound, be no 5xx, and put errors in the documented
shape; afterwards the service must still be healthy and run a normal prompt."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import REPLY_BOUND_S, Fuzzed, check_error_shape
from tests.fuzz.test_properties import hostile_text, json_value

HTTP_FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
MODELS = st.sampled_from(["orchestratex/auto", "fake-gpt", "fake-claude", "nope", ""])


def _send(fuzzed: Fuzzed, method: str, path: str, **kwargs: Any) -> None:
    started = time.monotonic()
    response = fuzzed.http.request(method, path, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < REPLY_BOUND_S, f"{method} {path} took {elapsed:.1f} s"
    check_error_shape(path, response)


def _json(body: object) -> dict[str, Any]:
    """A raw JSON body with escapes, so lone surrogates arrive as `\\udc00` escapes."""
    return {
        "content": json.dumps(body, allow_nan=True),
        "headers": {"Content-Type": "application/json"},
    }


prompt_bodies = st.fixed_dictionaries(
    {"prompt": hostile_text},
    optional={
        "system": hostile_text | json_value,
        "max_rounds": st.integers(-5, 20) | json_value,
        "judges": st.lists(MODELS, max_size=40) | json_value,
        "judge_count": st.integers(-1, 10),
        "model": MODELS | json_value,
        "threshold": st.floats() | json_value,
        "deadline_s": st.floats(),
        "preferences": st.fixed_dictionaries(
            {}, optional={"allowed_models": st.lists(MODELS, max_size=300) | json_value}
        )
        | json_value,
    },
)


@HTTP_FUZZ
@given(body=prompt_bodies | json_value)
def test_prompt_bodies(fuzzed: Fuzzed, body: object) -> None:
    _send(fuzzed, "POST", "/api/orchestrate/prompt", **_json(body))


message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "system", "assistant", "developer", "tool"]) | json_value,
        "content": hostile_text
        | st.lists(
            st.fixed_dictionaries({"type": st.just("text") | hostile_text, "text": hostile_text}),
            max_size=4,
        )
        | json_value,
    }
)
chat_bodies = st.fixed_dictionaries(
    {"model": MODELS | json_value, "messages": st.lists(message, max_size=4) | json_value},
    optional={
        "stream": st.booleans() | json_value,
        "max_tokens": st.integers(-1, 40_000) | json_value,
        "temperature": st.floats() | json_value,
        "stream_options": st.fixed_dictionaries({"include_usage": json_value}),
        "n": json_value,
    },
)


@HTTP_FUZZ
@given(body=chat_bodies)
def test_chat_bodies(fuzzed: Fuzzed, body: dict[str, Any]) -> None:
    _send(fuzzed, "POST", "/v1/chat/completions", **_json(body))


def _header_value(raw: bytes) -> bytes:
    """What HTTP can carry in a header: no controls, no surrounding whitespace."""
    return bytes(c for c in raw if c >= 0x20 and c != 0x7F).strip(b" ")


latin1 = st.binary(max_size=40).map(_header_value)


@HTTP_FUZZ
@given(authorization=latin1, last_event_id=latin1, path_text=hostile_text)
def test_headers_and_paths(
    fuzzed: Fuzzed, authorization: bytes, last_event_id: bytes, path_text: str
) -> None:
    headers = {b"Authorization": _header_value(b"Bearer " + authorization)}
    _send(fuzzed, "GET", "/api/threads", headers=headers)
    _send(fuzzed, "GET", "/api/threads", headers={b"Authorization": authorization})
    thread = path_text.encode("utf-8", "surrogatepass").hex() or "x"
    _send(
        fuzzed,
        "GET",
        f"/api/orchestrate/{thread}/events",
        headers={b"Last-Event-ID": last_event_id},
    )
    quoted = "".join(f"%{b:02X}" for b in path_text.encode("utf-8", "surrogatepass"))
    for path in (f"/api/threads/{quoted or 'x'}", f"/api/threads?q={quoted}&limit=5"):
        _send(fuzzed, "GET", path)


def test_healthy_after_fuzzing(fuzzed: Fuzzed) -> None:
    fuzzed.healthy()
