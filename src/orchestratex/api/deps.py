"""Request dependencies: the running service and the calling user.

The `Authorization` header, when sent, must be `Bearer <key>`: the scheme in any case, one or
more spaces, then 1..512 visible ASCII characters. `Bearer` with nothing after it counts as no
key. Anything else (another scheme, an oversized or non-ASCII value) is a 401, in open mode too.

Open mode: while no API key exists, every caller on this machine is the anonymous admin,
whatever bearer token it sends (the official OpenAI SDK refuses to send none); a browser request
from another site or name is a 403 (`local_guard`). Once a key exists, a key that is not one of
them is a 401.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from orchestratex.api.errors import ApiError
from orchestratex.api.local_guard import OpenModeRefused, check_open_mode
from orchestratex.runtime.auth import ANONYMOUS, Principal
from orchestratex.runtime.service import Service

_bearer = HTTPBearer(
    auto_error=False,
    description="an API key made with `orchestratex keys`; any value while no key exists",
)
MAX_AUTHORIZATION_CHARS = 512
_BEARER = re.compile(rf"(?i)bearer(?: +([\x21-\x7e]{{1,{MAX_AUTHORIZATION_CHARS}}}))?")


class MalformedAuthorization(ValueError):
    """The Authorization header is not `Bearer <key>`."""


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization` header as documented above; None when there is none.
    Raises MalformedAuthorization for anything else."""
    if header is None:
        return None
    found = _BEARER.fullmatch(header.strip(" "))
    if found is None:
        raise MalformedAuthorization(header)
    return found.group(1)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def get_service(request: Request) -> Service:
    """The running service (async: a plain function would cost a thread hop per request)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def principal_for(
    service: Service, token: str | None, headers: Mapping[str, str], peer: str | None
) -> Principal | None:
    """Who holds `token`: the key's holder; the anonymous admin while no key exists (open mode,
    any token accepted, for requests from this machine only: OpenModeRefused otherwise); None
    for an unknown or missing key once keys exist. `peer`: the connection's address."""
    if token is not None:
        principal = await service.authenticate(token)
        if principal is not None:
            return principal
    if await service.auth_enabled():
        return None
    check_open_mode(headers, service.settings.cors_origins, peer)
    return ANONYMOUS


async def current_user(
    service: ServiceDep, request: Request, _scheme: Annotated[object, Depends(_bearer)]
) -> Principal:
    """The key's holder; the anonymous admin while no key exists at all (open mode)."""
    try:
        token = bearer_token(request.headers.get("authorization"))
    except MalformedAuthorization:
        raise _unauthorized(
            "malformed Authorization header: send `Authorization: Bearer <key>`"
        ) from None
    peer = request.client.host if request.client is not None else None
    return await user_for(service, token, request.headers, peer)


async def user_for(
    service: Service,
    token: str | None,
    headers: Mapping[str, str],
    peer: str | None,
    *,
    how: str = "`Authorization: Bearer <key>`",
) -> Principal:
    """`principal_for`, or a 401 (saying to send the key `how`) when there is none, or a 403
    for a request open mode does not serve."""
    try:
        principal = await principal_for(service, token, headers, peer)
    except OpenModeRefused as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    if principal is None:
        raise _unauthorized(f"a valid API key is required: send {how}")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


async def admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin key")
    return user


AdminUser = Annotated[Principal, Depends(admin_user)]
