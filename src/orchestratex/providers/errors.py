"""Turn SDK and transport exceptions into the typed errors of core.errors, without secrets."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx2

from orchestratex.core.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

_KEYLIKE = re.compile(r"\b(?:sk|xai|gsk)[-_][A-Za-z0-9_\-]{8,}", re.IGNORECASE)
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_MAX_DETAIL = 200


@dataclass(frozen=True)
class SdkErrorTypes:
    """The exception classes of one SDK, so one mapping serves both SDKs."""

    base: type[Exception]
    status: type[Exception]
    connection: type[Exception]
    timeout: type[Exception]
    validation: type[Exception]


@dataclass(frozen=True)
class CallContext:
    """Who was called; `secrets` are strings that must never appear in a message."""

    provider: str
    model: str
    secrets: Sequence[str] = ()


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Remove the given secrets and anything that looks like an API key or bearer token."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    text = _BEARER.sub(r"\1[redacted]", text)
    return _KEYLIKE.sub("[redacted]", text)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(body: Any, ctx: CallContext) -> str:
    message: Any = None
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
    if not isinstance(message, str) or not message.strip():
        return ""
    text = redact(" ".join(message.split()), ctx.secrets)
    if len(text) > _MAX_DETAIL:
        text = text[:_MAX_DETAIL] + "..."
    return f": {text}"


def from_status(
    status: int, headers: Mapping[str, str], body: Any, ctx: CallContext
) -> ProviderError:
    """The typed error for an HTTP error status."""
    where = f"{ctx.provider} model {ctx.model!r}: HTTP {status}"
    kw: dict[str, Any] = {"provider": ctx.provider, "model": ctx.model, "status": status}
    if status == 429:
        wait = parse_retry_after(headers)
        return RateLimitedError(
            f"{where} rate limited{_detail(body, ctx)}", retry_after_s=wait, **kw
        )
    if status in (401, 403):
        return AuthenticationError(f"{where} authentication failed (check the API key)", **kw)
    if status in (408, 504):
        return ProviderTimeoutError(f"{where} timed out at the provider", **kw)
    if status >= 500 or status == 409:
        return ProviderUnavailableError(f"{where} provider error{_detail(body, ctx)}", **kw)
    return BadRequestError(f"{where} request refused{_detail(body, ctx)}", **kw)


def raise_mapped(
    exc: Exception, types: SdkErrorTypes, ctx: CallContext, *, mid_stream: bool = False
) -> NoReturn:
    """Raise the typed error for `exc` (without the SDK exception attached), or `exc` itself."""
    mapped = map_exception(exc, types, ctx, mid_stream=mid_stream)
    if mapped is None:
        raise exc
    raise mapped from None


def map_exception(
    exc: BaseException, types: SdkErrorTypes, ctx: CallContext, *, mid_stream: bool = False
) -> ProviderError | None:
    """The typed error for an SDK/transport/parse exception, or None when it is not one."""
    kw: dict[str, Any] = {"provider": ctx.provider, "model": ctx.model}
    where = f"{ctx.provider} model {ctx.model!r}"
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, types.timeout | httpx2.TimeoutException):
        return ProviderTimeoutError(f"{where}: request timed out", **kw)
    if isinstance(exc, types.connection | httpx2.TransportError | httpx2.StreamError):
        if mid_stream:
            return MalformedResponseError(f"{where}: the stream was cut off", **kw)
        return ProviderUnavailableError(f"{where}: connection failed or closed early", **kw)
    if isinstance(exc, types.status):
        response = getattr(exc, "response", None)
        headers: Mapping[str, str] = dict(response.headers) if response is not None else {}
        status = int(getattr(exc, "status_code", 500))
        return from_status(status, headers, getattr(exc, "body", None), ctx)
    if isinstance(exc, types.validation | ValueError | KeyError | TypeError):
        return MalformedResponseError(f"{where}: the provider's answer could not be parsed", **kw)
    if isinstance(exc, types.base):
        detail = _detail(getattr(exc, "body", None), ctx)
        return ProviderUnavailableError(f"{where}: provider error{detail}", **kw)
    return None


def malformed(ctx: CallContext, what: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{ctx.provider} model {ctx.model!r}: {what}", provider=ctx.provider, model=ctx.model
    )
