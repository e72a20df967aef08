"""Keep credentials out of the server's logs, without ever breaking a log record.

At DEBUG, uvicorn's WebSocket protocol logs each handshake's request headers (the
`Authorization` header included) and the access log records query strings. A filter on those
loggers rewrites any record that holds a bearer token, an `orx_` key, an API-key header or a
credential-looking query parameter (`?api_key=`, `?token=`, ...).

The record keeps its shape: formatters such as uvicorn's access formatter unpack `record.args`
into fields, so the filter redacts inside each argument and keeps `args` a tuple of the same
length. The filter never raises and never drops a record.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any

_QUERY_NAMES = (
    r"api[_-]?key|apikey|key|access[_-]?token|refresh[_-]?token|id[_-]?token|token|"
    r"auth|authorization|password|passwd|secret|client[_-]?secret|x-api-key|session"
)
_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?\s*)[^\r\n'\",}]+"),
    re.compile(r"(?i)(x-api-key\s*[:=]\s*['\"]?\s*)[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[^\s&'\",}]+"),
    re.compile(rf"(?i)([?&;](?:{_QUERY_NAMES})=)[^&;#\s'\"]*"),
    re.compile(r"()\borx_[A-Za-z0-9_\-]{6,}"),
)
REDACTED = "[redacted]"
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets", "websockets.server")


def _substitute(match: re.Match[str]) -> str:
    secret = match.group(0)[len(match.group(1)) :]
    if secret.startswith(REDACTED):
        return match.group(0)  # already redacted: redacting is idempotent
    return match.group(1) + REDACTED


def redact_text(text: str) -> str:
    """`text` with credentials replaced by "[redacted]"; text already redacted is unchanged."""
    for pattern in _PATTERNS:
        text = pattern.sub(_substitute, text)
    return text


def _redact_value(value: Any) -> Any:
    """A string (or a value whose text holds a credential) redacted; anything else as it is,
    so `%d` and friends keep working for the numbers a format string expects."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    try:
        text = value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)
    except Exception:
        return value
    cleaned = redact_text(text)
    return value if cleaned == text else cleaned


def _is_clean(record: logging.LogRecord) -> tuple[bool, str]:
    message = record.getMessage()
    cleaned = redact_text(message)
    return cleaned == message, cleaned


def _redact_record(record: logging.LogRecord) -> None:
    """Redact inside the arguments first, keeping their number (formatters may unpack them);
    rewrite the message itself only when a credential spans the format string and arguments."""
    args = record.args
    if isinstance(args, tuple):
        record.args = tuple(_redact_value(a) for a in args)
    elif isinstance(args, Mapping):
        record.args = {k: _redact_value(v) for k, v in args.items()}
    try:
        clean, cleaned = _is_clean(record)
    except Exception:
        return  # a record that cannot format itself is the logging module's to report
    if clean:
        return
    if isinstance(record.args, tuple):
        # e.g. "%s: %s" % ("authorization", "Basic abc"): blank each string argument that the
        # redacted message no longer holds whole.
        record.args = tuple(
            REDACTED if isinstance(a, str) and a and a not in cleaned else a for a in record.args
        )
        clean, cleaned = _is_clean(record)
        if clean:
            return
        # Last resort: the cleaned text as the message, with one empty field per argument so
        # the arguments still match (and stay available, redacted, to unpacking formatters).
        record.msg = cleaned.replace("%", "%%") + "%.0s" * len(record.args)
    elif record.args:
        record.msg = cleaned.replace("%", "%%")
    else:
        record.msg = cleaned


class RedactCredentials(logging.Filter):
    """Rewrites a record that holds a credential; never drops a record, never raises."""

    def filter(self, record: logging.LogRecord) -> bool:
        with contextlib.suppress(Exception):  # a broken filter must not cost the log line
            _redact_record(record)
        return True


def install_log_redaction(names: tuple[str, ...] = SERVER_LOGGERS) -> None:
    """Attach the filter (once) to the server loggers that may see request headers."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
