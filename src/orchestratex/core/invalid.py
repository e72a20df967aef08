"""How one pydantic validation error reads in a message to a person.

Every place that turns a refused field into an error message (the API's 400/422, the settings
and catalog checks, a judge's unreadable verdict) says it the same way: the dotted location
(without the request's `body` root) and pydantic's reason without its "Value error, " or
"Assertion failed, " label, which names a Python exception type and nothing the reader did.
Never the value itself: it may be a secret or a megabyte of text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LABELS = ("Value error, ", "Assertion failed, ")
ROOTS = ("body",)


def location(error: Mapping[str, Any]) -> str:
    """`messages.0.content` for ("body", "messages", 0, "content"); "" for the whole object."""
    return ".".join(str(part) for part in error.get("loc", ()) if part not in ROOTS)


def reason(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    for label in LABELS:
        message = message.removeprefix(label)
    return message


def described(error: Mapping[str, Any], whole: str = "") -> str:
    """`location: reason`, or the reason alone (after `whole`, when given) for the whole object."""
    where = location(error) or whole
    return f"{where}: {reason(error)}" if where else reason(error)


def describe_all(errors: Iterable[Mapping[str, Any]], limit: int = 5, whole: str = "") -> str:
    return "; ".join(described(error, whole) for error in list(errors)[:limit])
