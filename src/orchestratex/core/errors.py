"""The error vocabulary. Messages never carry secrets."""

from __future__ import annotations


class OrchestrateXError(Exception):
    """Base of every error this package raises on purpose."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(OrchestrateXError):
    code = "configuration_error"


class ProviderError(OrchestrateXError):
    """A model call failed. `retryable` tells the gateway whether trying again may help;
    `provider_fault` whether the failure says the provider is unhealthy (the one rule of what
    counts against its circuit breaker: server errors, timeouts, unreadable or cut answers; not
    a rate limit, a refused request, a rejected key or a call cut short by the caller)."""

    code = "provider_error"
    retryable: bool = False
    provider_fault: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.status = status


class RateLimitedError(ProviderError):
    code = "rate_limited"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = 429,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model, status=status)
        self.retry_after_s = retry_after_s


class ProviderUnavailableError(ProviderError):
    """5xx answers and connection failures."""

    code = "provider_unavailable"
    retryable = True
    provider_fault = True


class ProviderTimeoutError(ProviderError):
    code = "provider_timeout"
    retryable = True
    provider_fault = True


class MalformedResponseError(ProviderError):
    """The provider answered something that is not the protocol (bad JSON, a cut stream)."""

    code = "malformed_response"
    retryable = True
    provider_fault = True


class AuthenticationError(ProviderError):
    code = "authentication_failed"


class BadRequestError(ProviderError):
    code = "bad_request"


class CircuitOpenError(ProviderError):
    """The provider failed too often lately; calls are refused until it cools down."""

    code = "circuit_open"
    retryable = True


class NotRecordedError(ProviderError):
    """The replay provider has no recorded answer for this request."""

    code = "not_recorded"


class NoModelAvailableError(OrchestrateXError):
    code = "no_model_available"


class UnknownModelError(OrchestrateXError):
    code = "unknown_model"


class BudgetExceededError(OrchestrateXError):
    code = "budget_exceeded"


class ModelNotAllowedError(OrchestrateXError):
    """The run may not use this model (not among its allowed models)."""

    code = "model_not_allowed"


CANCELLED_CALL = "cancelled: the call was stopped before it ended"
"""The error of a call its caller stopped (a client that hung up, a run cancelled): it says
nothing of the model, so success rates leave it out."""


_NEVER_SENT = "orchestratex_never_sent"


def mark_never_sent(exc: BaseException) -> None:
    """Note that the call ending in `exc` never left for its provider (cancelled while it
    waited for a rate-limit slot or a `max_concurrent` place): nothing of it can be billed.
    The gateway marks; admission reads it (`was_sent`)."""
    setattr(exc, _NEVER_SENT, True)


def was_sent(exc: BaseException) -> bool:
    """Whether the call ending in `exc` may have reached its provider: yes unless the gateway
    marked it never sent, so a model client that does not mark counts as sent (the side that
    never spends past a budget)."""
    return getattr(exc, _NEVER_SENT, False) is not True
