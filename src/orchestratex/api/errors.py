"""One JSON error shape for every failure: `{"error": {"code": "...", "message": "..."}}`.

Bad input is always a 4xx with a machine-readable code; messages name fields and reasons but
never echo the submitted values (they may hold secrets).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestratex.api.error_shapes import shaped_error
from orchestratex.api.error_status import FASTAPI_BODY_ERROR, UNREADABLE_BODY, status_of
from orchestratex.core.errors import (
    OrchestrateXError,
)
from orchestratex.core.invalid import reason

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(HTTPException):
    """An HTTP error with an explicit machine-readable code."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code


class ClientGone(Exception):
    """The client hung up before its reply: nothing is sent (the status 499 is for the log)."""


async def _on_gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


def _domain_status(exc: OrchestrateXError) -> int:
    return status_of(exc)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    """Errors raised before a route ran (no such path, method not allowed), and our own ApiError.
    Under /v1 they answer in the shape of that path's clients (OpenAI's or Anthropic's)."""
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None) or _STATUS_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if message == FASTAPI_BODY_ERROR:
        code, message = "malformed_json", UNREADABLE_BODY
    headers = dict(exc.headers) if exc.headers else None
    path = request.url.path
    if path.startswith("/v1/"):
        if exc.status_code in (404, 405) and not isinstance(exc, ApiError):
            message = f"{message}: {request.method} {path}"
        body = shaped_error(path, exc.status_code, code, message)
        return JSONResponse(body, status_code=exc.status_code, headers=headers)
    return error_response(exc.status_code, code, message, headers=headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    fields = [{"field": _location(tuple(e.get("loc", ()))), "reason": reason(e)} for e in errors]
    summary = "; ".join(f"{f['field']}: {f['reason']}" for f in fields[:5])
    return error_response(422, "invalid_request", summary or "invalid request", fields=fields)


async def _on_domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OrchestrateXError)
    status = _domain_status(exc)
    headers: dict[str, str] | None = None
    retry_after = getattr(exc, "retry_after_s", None)
    if status == 429 and retry_after is not None:
        headers = {"Retry-After": str(max(1, round(retry_after)))}
    if status >= 500:
        log.warning("request failed: %s", exc.code)
    return error_response(status, exc.code, exc.message, headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(OrchestrateXError, _on_domain)
    app.add_exception_handler(ClientGone, _on_gone)
    app.add_exception_handler(Exception, _on_unexpected)
