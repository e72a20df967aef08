"""Errors in the OpenAI shape: `{"error": {"message", "type", "code", "param"}}`.

`OpenAIRoute` makes every failure of a route (validation, auth, domain errors) answer in that
shape, so OpenAI clients raise their usual exceptions (`NotFoundError`, `BadRequestError`, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestratex.api.error_status import FASTAPI_BODY_ERROR, UNREADABLE_BODY, status_of
from orchestratex.core.errors import (
    OrchestrateXError,
    UnknownModelError,
)
from orchestratex.core.invalid import describe_all, location

log = logging.getLogger(__name__)


class OpenAIError(Exception):
    """An error to answer in the OpenAI shape."""

    def __init__(
        self, status: int, message: str, *, type_: str, code: str, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def bad_request(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(
        400, message, type_="invalid_request_error", code="invalid_request", param=param
    )


def not_supported(names: list[str]) -> OpenAIError:
    """The 400 for options this service cannot honour, naming them (the first is the param)."""
    return bad_request(f"not supported by this service: {', '.join(names)}", param=names[0])


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(
        404,
        "no such model; GET /v1/models lists them",
        type_="invalid_request_error",
        code="model_not_found",
        param="model",
    )


_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type(status: int) -> str:
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def _domain_status(exc: OrchestrateXError) -> int:
    if exc.code == "invalid_request":
        return 400  # the OpenAI API answers invalid input 400 where /api answers 422
    return status_of(exc)


def _invalid(exc: RequestValidationError | ValidationError) -> OpenAIError:
    """A 400 naming the invalid fields (never their values). A ValidationError raised while
    handling the request (a derived model refusing what the body carried) is bad input too."""
    errors = list(exc.errors(include_input=False)) if isinstance(exc, ValidationError) else []
    if isinstance(exc, RequestValidationError):
        errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return bad_request("the request body is not valid JSON")
    param = (location(errors[0]).split(".")[0] or None) if errors else None
    return bad_request(describe_all(errors, whole="body") or "invalid request", param=param)


def from_exception(exc: Exception) -> tuple[OpenAIError, dict[str, str] | None]:
    """The OpenAI-shaped error (and headers) for an exception raised while handling a request."""
    if isinstance(exc, OpenAIError):
        return exc, None
    if isinstance(exc, RequestValidationError | ValidationError):
        return _invalid(exc), None
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        code = getattr(exc, "code", None) or "error"
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if message == FASTAPI_BODY_ERROR:
            code, message = "invalid_request", UNREADABLE_BODY
        headers = dict(exc.headers) if exc.headers else None
        return OpenAIError(status, message, type_=error_type(status), code=code), headers
    if isinstance(exc, OrchestrateXError):
        status = _domain_status(exc)
        headers = None
        retry_after = getattr(exc, "retry_after_s", None)
        if status == 429 and isinstance(retry_after, int | float):
            headers = {"Retry-After": str(max(1, round(retry_after)))}
        code = "model_not_found" if isinstance(exc, UnknownModelError) else exc.code
        error = OpenAIError(status, exc.message, type_=error_type(status), code=code)
        return error, headers
    raise exc


class OpenAIRoute(APIRoute):
    """A route whose failures (validation, auth, domain errors) answer in the OpenAI shape.

    Subclasses change only `render` (the shape of the body), e.g. the Anthropic routes.
    """

    @staticmethod
    def render(error: OpenAIError, headers: dict[str, str] | None) -> Response:
        return error.response(headers)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        render = self.render

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (
                OpenAIError,
                RequestValidationError,
                ValidationError,
                StarletteHTTPException,
                OrchestrateXError,
            ) as exc:
                error, headers = from_exception(exc)
                return render(error, headers)
            except Exception:
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                error = OpenAIError(
                    500, "internal error", type_="server_error", code="internal_error"
                )
                return render(error, None)

        return handle
