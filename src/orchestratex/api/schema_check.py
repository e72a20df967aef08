"""Callers' JSON schemas (`response_format`, `text.format`, `output_config.format`), checked
without harm to the service.

The service checks an orchestration's answers against the schema its caller sent. jsonschema's
defaults are not safe for a schema from outside: a `$ref` to a URI is fetched (a local file, an
internal address, a server that never answers, from the event loop), `pattern` runs on Python's
backtracking `re`, and references that loop raise RecursionError. Here:
- only references inside the schema resolve (`#...`): the registry never retrieves, and a
  request whose schema refers elsewhere is refused with a 400 before any model is called;
- `pattern` and `patternProperties` run on the `regex` engine with a time limit per match,
  inside a time limit for the whole check (`CHECK_S` for an answer);
- at the request, the schema is tried on a few small values: one whose references loop without
  end, or that cannot be checked in time, is refused there (400), not after models were paid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

CHECK_S = 1.0
"""The longest an answer's check against its schema may take (seconds of CPU, in a thread)."""
TRIAL_S = 0.05
"""The longest the request's trial of its schema may take, all values together (it runs on the
event loop)."""
MATCH_S = 0.05
"""The longest one `pattern` match may take."""
TRIAL_VALUES: tuple[object, ...] = (None, {}, [], "", 0, True)
REF_KEYWORDS = ("$ref", "$dynamicRef")

_deadline: ContextVar[float] = ContextVar("schema_check_deadline", default=0.0)


class CheckTooSlowError(Exception):
    """The check ran past its time limit (a pattern that backtracks, or a huge answer)."""


def _never_retrieve(uri: str) -> Any:
    raise NoSuchResource(uri)


def _search(pattern: str, text: str) -> bool:
    left = _deadline.get() - time.perf_counter()
    if left <= 0:
        raise CheckTooSlowError
    try:
        return regex.search(pattern, text, timeout=min(left, MATCH_S)) is not None
    except TimeoutError:
        raise CheckTooSlowError from None


def _pattern(validator: Any, pattern: str, instance: object, schema: Any) -> Iterator[Any]:
    if isinstance(instance, str) and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: object, schema: Any
) -> Iterator[Any]:
    if not isinstance(instance, dict):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if _search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


SafeValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


def _foreign_refs(node: object) -> Iterator[str]:
    """References that point outside the schema (anything but `#...`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in REF_KEYWORDS and isinstance(value, str) and not value.startswith("#"):
                yield value
            else:
                yield from _foreign_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _foreign_refs(item)


def _first_error(schema: dict[str, Any], value: object, seconds: float) -> str | None:
    """The first reason `value` does not match, or None; raises what the check can raise."""
    registry: Registry[Any] = Registry(retrieve=_never_retrieve)  # type: ignore[call-arg]
    token = _deadline.set(time.perf_counter() + seconds)
    try:
        error = next(iter(SafeValidator(schema, registry=registry).iter_errors(value)), None)
    finally:
        _deadline.reset(token)
    return None if error is None else str(error.message)


def _why_unusable(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "its references loop without end"
    if isinstance(exc, CheckTooSlowError):
        return "checking a value against it takes too long (a pattern that backtracks?)"
    if isinstance(exc, Unresolvable):
        return f"reference {exc.ref!r} does not resolve inside the schema"
    return f"it cannot be checked ({type(exc).__name__})"


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why a caller's schema cannot be used, or None (at the request, before any call)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"is not a valid JSON schema: {exc.message}"
    except RecursionError:
        return "is nested too deeply"
    foreign = next(_foreign_refs(schema), None)
    if foreign is not None:
        return f"may refer only to its own parts ($ref starting with '#'), not {foreign[:200]!r}"
    end = time.perf_counter() + TRIAL_S  # one limit for the whole trial: it runs on the loop
    for value in TRIAL_VALUES:
        try:
            _first_error(schema, value, end - time.perf_counter())
        except Exception as exc:  # every way a check fails is the schema's
            return f"cannot be used: {_why_unusable(exc)}"
    return None


def answer_problem(schema: dict[str, Any], value: object) -> str | None:
    """Why a parsed answer does not satisfy `schema`, or None (blocking: use a worker thread)."""
    try:
        error = _first_error(schema, value, CHECK_S)
    except Exception as exc:  # it passed its trial: say why, never a 500
        return f"the answer could not be checked against the schema: {_why_unusable(exc)}"
    return None if error is None else f"the answer does not match the schema: {error}"
