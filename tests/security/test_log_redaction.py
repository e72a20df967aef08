"""The server log filter: credentials in uvicorn/websockets records are replaced."""

from __future__ import annotations

import logging

import pytest

from orchestratex.api.log_redaction import RedactCredentials, install_log_redaction, redact_text

KEY = "orx_Zk3vQ9wLp2Xy7Rt5Hn8Bm4Cd6Fg1Jk0"


@pytest.mark.parametrize(
    "text",
    [
        f"< authorization: Bearer {KEY}",
        f"< Authorization: bearer {KEY}",
        "< x-api-key: sk-ant-secretvalue123",
        f'GET /ws/s?api_key={KEY} HTTP/1.1" 403',
        f"{{'authorization': 'Bearer {KEY}', 'accept': '*/*'}}",
        f"token {KEY} seen",
    ],
)
def test_credentials_are_redacted(text: str) -> None:
    cleaned = redact_text(text)
    assert KEY not in cleaned and "secretvalue123" not in cleaned
    assert "[redacted]" in cleaned


def test_plain_text_untouched_and_filter_installed_once(caplog: pytest.LogCaptureFixture) -> None:
    assert redact_text("GET /api/threads 200 OK") == "GET /api/threads 200 OK"
    install_log_redaction()
    install_log_redaction()
    logger = logging.getLogger("uvicorn.error")
    assert sum(isinstance(f, RedactCredentials) for f in logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger="uvicorn.error"):
        logger.debug("< %s: %s", "authorization", f"Bearer {KEY}")
    assert KEY not in caplog.text and "authorization: [redacted]" in caplog.text


def _record(msg: str, args: tuple[object, ...] | dict[str, object] | None) -> logging.LogRecord:
    given = (args,) if isinstance(args, dict) else args  # as Logger.info("...", mapping) does
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, given, None)


def test_the_access_record_keeps_its_five_arguments() -> None:
    args = ("127.0.0.1:5000", "GET", f"/healthz?api_key={KEY}&x=1", "1.1", 200)
    record = _record('%s - "%s %s HTTP/%s" %d', args)
    assert RedactCredentials().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert record.args[2] == "/healthz?api_key=[redacted]&x=1" and record.args[4] == 200
    line = '127.0.0.1:5000 - "GET /healthz?api_key=[redacted]&x=1 HTTP/1.1" 200'
    assert record.getMessage() == line


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("< %s: %s", ("authorization", "Basic QWxhZGRpbjpvcGVu")),
        ("headers %(h)s", {"h": f"Authorization: Bearer {KEY}"}),
        (f"plain Bearer {KEY} 100%", None),
        ("%s %s", (b"x-api-key: sk-ant-secretvalue123", 3)),
        ("GET /authorization: %s", ("HTTP/1.1",)),
    ],
)
def test_records_stay_formattable_and_hold_no_credential(
    msg: str, args: tuple[object, ...] | dict[str, object] | None
) -> None:
    record = _record(msg, args)
    assert RedactCredentials().filter(record)
    message = record.getMessage()
    assert KEY not in message and "QWxhZGRpbjpvcGVu" not in message
    assert "secretvalue123" not in message
    if isinstance(args, tuple):
        assert isinstance(record.args, tuple) and len(record.args) == len(args)
    assert redact_text(message) == message, "redacting twice changes nothing"


def test_a_record_that_cannot_format_is_passed_on_untouched() -> None:
    record = _record("%d apples", ("many",))
    assert RedactCredentials().filter(record)
    assert record.args == ("many",)
