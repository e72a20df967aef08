"""Request dependencies: the running service and the calling user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestratex.api.errors import ApiError
from orchestratex.runtime.auth import ANONYMOUS, Principal, auth_enabled, authenticate
from orchestratex.runtime.service import Service

_bearer = HTTPBearer(auto_error=False, description="an API key made with `orchestratex keys`")

_UNAUTHORIZED = ApiError(
    401,
    "unauthorized",
    "a valid API key is required: send `Authorization: Bearer <key>`",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def current_user(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The key's holder; anonymous admin while no key exists at all (loopback-only mode)."""
    async with service.sessions() as session:
        if credentials is not None:
            principal = await authenticate(session, credentials.credentials)
            if principal is not None:
                return principal
            raise _UNAUTHORIZED
        if await auth_enabled(session):
            raise _UNAUTHORIZED
    return ANONYMOUS


CurrentUser = Annotated[Principal, Depends(current_user)]


async def admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin key")
    return user


AdminUser = Annotated[Principal, Depends(admin_user)]
