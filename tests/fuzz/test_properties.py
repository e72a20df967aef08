"""Properties of the single gates every request goes through, over arbitrary input: the request
models, the settings caps, header parsing and log redaction. Each may refuse input, only ever in
its documented way, and never lets through what it promises to keep out."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from orchestratex.api.chat_prompt import to_prompt
from orchestratex.api.deps import MAX_AUTHORIZATION_CHARS, MalformedAuthorization, bearer_token
from orchestratex.api.errors import ApiError
from orchestratex.api.log_redaction import REDACTED, RedactCredentials, redact_text
from orchestratex.api.openai_errors import OpenAIError
from orchestratex.api.openai_schema import ChatCompletionRequest
from orchestratex.api.routes.sse import _after_seq
from orchestratex.core.orchestration import MAX_JUDGES, OrchestrationRequest
from orchestratex.core.text import is_safe_text
from orchestratex.runtime.defaults import RequestOverLimitError, with_defaults
from orchestratex.runtime.settings import Settings

FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

# Text as hostile clients send it: NUL, lone surrogates, controls, non-ASCII digits, plain words.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=20),
    st.sampled_from(["\x00", "\udc00", "\ud800x", "²", "١", "fake-gpt", "fake-claude", " ", ""]),
)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(hostile_text, inner, max_size=6),
    max_leaves=30,
)


def _field_values(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects that use the model's own field names (so validation goes deep) with any values."""
    key = st.one_of(st.sampled_from(names), hostile_text)
    return st.dictionaries(key, json_value, max_size=len(names) + 2)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


ORCHESTRATION_FIELDS = list(OrchestrationRequest.model_fields)
judges_lists = st.lists(st.sampled_from(["fake-gpt", "fake-claude", "a", "b"]), max_size=30)


@FUZZ
@given(
    body=st.one_of(
        _field_values(ORCHESTRATION_FIELDS),
        st.builds(lambda p, j: {"prompt": p, "judges": j}, hostile_text, judges_lists),
    )
)
def test_orchestration_requests_hold_only_storable_bounded_text(body: dict[str, Any]) -> None:
    try:
        request = OrchestrationRequest.model_validate(body)
    except ValidationError:
        return
    assert all(is_safe_text(s) for s in _strings(request.model_dump()))
    if request.judges is not None:
        assert len(request.judges) == len(set(request.judges)) <= MAX_JUDGES


@FUZZ
@given(
    body=st.one_of(
        _field_values(list(ChatCompletionRequest.model_fields)),
        st.builds(
            lambda content, stream: {
                "model": "orchestratex/auto",
                "messages": [{"role": "user", "content": content}],
                "stream": stream,
            },
            json_value,
            json_value,
        ),
    )
)
def test_chat_bodies_either_become_a_request_or_a_400(body: dict[str, Any]) -> None:
    try:
        chat = ChatCompletionRequest.model_validate(body)
    except ValidationError:
        return
    assert isinstance(chat.stream, bool), "strict: only a JSON boolean is a boolean"
    try:
        prompt, system = to_prompt(chat.messages)
    except OpenAIError as error:
        assert error.status == 400
        return
    assert is_safe_text(prompt) and (system is None or is_safe_text(system))
    OrchestrationRequest(prompt=prompt, system=system)  # whatever passed is a valid run


@FUZZ
@given(
    rounds=st.integers(1, 10) | st.none(),
    judges=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=5) | st.none(),
    count=st.integers(0, 5) | st.none(),
    cap_rounds=st.integers(1, 10),
    cap_judges=st.integers(1, 5),
)
def test_settings_caps_bound_every_request(
    rounds: int | None,
    judges: list[str] | None,
    count: int | None,
    cap_rounds: int,
    cap_judges: int,
) -> None:
    caps = Settings(
        max_rounds=cap_rounds,
        max_judges=cap_judges,
        default_max_rounds=1,
        judge_count=1,
        _env_file=None,
    )
    fields: dict[str, Any] = {"prompt": "hi"}
    for name, value in (("max_rounds", rounds), ("judges", judges), ("judge_count", count)):
        if value is not None:
            fields[name] = value
    try:
        filled = with_defaults(OrchestrationRequest(**fields), caps)
    except RequestOverLimitError as error:
        assert error.code == "invalid_request"
        return
    per_round = len(filled.judges) if filled.judges else filled.judge_count
    assert filled.max_rounds <= cap_rounds and per_round <= cap_judges


@FUZZ
@given(
    header=st.one_of(
        st.none(), st.text(max_size=600), st.text(alphabet="Bearer xyz\t", max_size=20)
    )
)
def test_authorization_is_bearer_and_visible_ascii_or_refused(header: str | None) -> None:
    try:
        token = bearer_token(header)
    except MalformedAuthorization:
        assert header is not None
        return
    if token is not None:
        assert 0 < len(token) <= MAX_AUTHORIZATION_CHARS
        assert all("!" <= c <= "~" for c in token)
        assert header is not None and header.strip(" ").lower().startswith("bearer ")


@FUZZ
@given(value=st.one_of(st.none(), st.text(max_size=30), st.integers(0, 10**25).map(str)))
def test_last_event_id_is_an_ascii_seq_or_a_400(value: str | None) -> None:
    try:
        seq = _after_seq(value)
    except ApiError as error:
        assert error.status_code == 400
        return
    if value is None or not value.strip():
        assert seq == 0
    else:
        assert value.strip().isascii() and int(value.strip()) == seq >= 0


SECRET = st.sampled_from(
    ["orx_Zk3vQ9wLp2Xy7Rt5Hn8", "Bearer sk-live-abcdef", "api_key=hunter2secret"]
)
log_args = st.lists(
    st.one_of(
        st.integers(), st.floats(allow_nan=False), hostile_text, SECRET, st.binary(max_size=8)
    ),
    max_size=6,
)


@FUZZ
@given(
    prefix=hostile_text,
    args=log_args,
    secret=SECRET,
    formats=st.lists(st.sampled_from(["%s", "%r", "%d", "%%", "%(x)s", "plain"]), max_size=6),
)
def test_redaction_never_breaks_a_record(
    prefix: str, args: list[object], secret: str, formats: list[str]
) -> None:
    msg = prefix.replace("%", "") + " ".join(formats) + " " + secret
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, tuple(args), None)
    try:
        before: str | None = record.getMessage()
    except Exception:
        before = None
    assert RedactCredentials().filter(record) is True
    assert isinstance(record.args, tuple) and len(record.args) == len(args)
    if before is not None:
        after = record.getMessage()
        assert redact_text(after) == after
        assert "hunter2secret" not in after and "abcdef" not in after.split(REDACTED)[-1]


@pytest.mark.parametrize("value", ["\x00", "\udc00", "a\ud800b"])
def test_unsendable_text_is_detected(value: str) -> None:
    assert not is_safe_text(value)
    assert is_safe_text("emoji \U0001f600 and ١٢")
