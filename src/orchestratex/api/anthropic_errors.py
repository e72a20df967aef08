"""Errors in the Anthropic shape: `{"type": "error", "error": {"type", "message"}}`.

`AnthropicRoute` answers every failure of a route (validation, auth, domain errors, and the
OpenAI-shaped errors of the shared planner) in that shape, so the `anthropic` SDK raises its
usual exceptions (`BadRequestError`, `NotFoundError`, `AuthenticationError`, ...).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from orchestratex.api.openai_errors import OpenAIError, OpenAIRoute

log = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    return _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def from_openai(error: OpenAIError) -> dict[str, Any]:
    """The Anthropic-shaped body of an error the shared code raised in the OpenAI shape."""
    return error_body(error.status, error.message)


class AnthropicRoute(OpenAIRoute):
    """A route whose failures answer in the Anthropic error shape."""

    @staticmethod
    def render(error: OpenAIError, headers: dict[str, str] | None) -> Response:
        return JSONResponse(from_openai(error), status_code=error.status, headers=headers)
