"""Errors in the Anthropic shape: `{"type": "error", "error": {"type", "message"}}`.

`AnthropicRoute` answers every failure of a route (validation, auth, domain errors, and the
OpenAI-shaped errors of the shared planner) in that shape, so the `anthropic` SDK raises its
usual exceptions (`BadRequestError`, `NotFoundError`, `AuthenticationError`, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestratex.api.openai_errors import OpenAIError, from_exception
from orchestratex.core.errors import OrchestrateXError

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


class AnthropicRoute(APIRoute):
    """A route whose failures answer in the Anthropic error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (
                OpenAIError,
                RequestValidationError,
                StarletteHTTPException,
                OrchestrateXError,
            ) as exc:
                error, headers = from_exception(exc)
                return JSONResponse(from_openai(error), status_code=error.status, headers=headers)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                return JSONResponse(error_body(500, "internal error"), status_code=500)

        return handle
