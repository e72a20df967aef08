"""Keep credentials out of the server's logs.

At DEBUG, uvicorn's WebSocket protocol logs each handshake's request headers (the
`Authorization` header included) and the access log records query strings. A filter on those
loggers rewrites any record that holds a bearer token, an `orx_` key or an API-key header.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?\s*)[^\r\n'\",}]+"),
    re.compile(r"(?i)(x-api-key\s*[:=]\s*['\"]?\s*)[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(api[_-]?key['\"]?\s*[:=]\s*['\"]?)[^\s&'\",}]+"),
    re.compile(r"()\borx_[A-Za-z0-9_\-]{6,}"),
)
REDACTED = "[redacted]"
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "websockets", "websockets.server")


def redact_text(text: str) -> str:
    """`text` with credentials replaced by "[redacted]"."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactCredentials(logging.Filter):
    """Rewrites a record's message when it holds a credential; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install_log_redaction(names: tuple[str, ...] = SERVER_LOGGERS) -> None:
    """Attach the filter (once) to the server loggers that may see request headers."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in logger.filters):
            logger.addFilter(RedactCredentials())
