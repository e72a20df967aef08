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
