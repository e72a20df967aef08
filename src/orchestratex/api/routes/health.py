"""Liveness and readiness probes (no auth: they reveal nothing about users or threads)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from orchestratex import __version__
from orchestratex.api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)  # load balancers and uptime checks
async def healthz(service: ServiceDep) -> dict[str, Any]:
    """The process is up. `auth` is "enabled" (an API key is required) or "open" (no key exists
    yet: any bearer token, or none, is accepted); `mode` is "live" or "replay" (the offline demo
    of recorded answers); `learned_quality` is the state of the scheduled retraining of the
    learned per-model quality model."""
    try:
        auth = "enabled" if await service.auth_enabled() else "open"
    except Exception:
        auth = "unknown"
    note = (
        "no API key exists yet: the service is open on loopback, and any API key (or none) "
        "is accepted"
        if auth == "open"
        else None
    )
    return {
        "status": "ok",
        "version": __version__,
        "auth": auth,
        "note": note,
        "mode": service.mode,
        "learned_quality": (
            service.retrainer.status.public() if service.retrainer else {"enabled": False}
        ),
    }


@router.get("/readyz", response_model=None)
@router.head("/readyz", include_in_schema=False, response_model=None)
async def readyz(service: ServiceDep) -> JSONResponse | dict[str, str]:
    """Ready to serve: the database answers."""
    if not await service.ping_db():
        return JSONResponse(
            {"error": {"code": "unavailable", "message": "database unreachable"}}, status_code=503
        )
    return {"status": "ready"}
