"""The HTTP status of every runtime and engine error, decided once for /api and /v1 alike.

Errors below the API carry only a machine-readable `code`; this table turns it into a status.
"""

from __future__ import annotations

from orchestratex.core.errors import (
    BudgetExceededError,
    ConfigurationError,
    ModelNotAllowedError,
    NoModelAvailableError,
    OrchestrateXError,
    ProviderError,
    RateLimitedError,
    UnknownModelError,
)

FASTAPI_BODY_ERROR = "There was an error parsing the body"
"""FastAPI's 400 for a JSON body it could not decode at all (bytes that are not UTF-8, nesting
deeper than the JSON parser's recursion limit); the handlers say it in our words."""

UNREADABLE_BODY = "the request body is not valid JSON (not UTF-8 text, or nested too deeply)"

_BY_CODE = {
    "invalid_request": 422,
    "unavailable": 503,
    "rate_limited": 429,
    "not_recorded": 422,
    "recordings_not_found": 503,
    "budget_exceeded": 402,
    "unknown_model": 404,
    "model_not_allowed": 403,
}


def status_of(exc: OrchestrateXError) -> int:
    """The status for `exc`: by its code first, then by its kind; 400 for the rest."""
    by_code = _BY_CODE.get(exc.code)
    if by_code is not None and not isinstance(exc, ProviderError):
        return by_code
    if isinstance(exc, UnknownModelError):
        return 404
    if isinstance(exc, BudgetExceededError):
        return 402
    if isinstance(exc, ModelNotAllowedError):
        return 403
    if isinstance(exc, RateLimitedError):
        return 429
    if isinstance(exc, NoModelAvailableError | ProviderError):
        return 503
    if isinstance(exc, ConfigurationError):
        return 500
    return 400
