"""`GET /metrics`: Prometheus text format, from collectors fed by the service's event bus.

The collectors live in a registry of this app alone (several apps in one process do not mix),
created and attached to the bus by this router's lifespan. Admin only: the figures cover every
user's runs and spending (with no API key in existence, the loopback caller is admin).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response

from orchestratex.api.deps import AdminUser
from orchestratex.api.errors import ApiError
from orchestratex.runtime.metrics import RunMetrics
from orchestratex.runtime.service import Service


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    service: Service = app.state.service
    metrics = RunMetrics()
    metrics.follow(service.bus)
    app.state.metrics = metrics
    try:
        yield
    finally:
        await metrics.stop()


router = APIRouter(tags=["metrics"], lifespan=_lifespan)


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(request: Request, user: AdminUser) -> Response:
    """Runs, model calls, tokens, cost and call latency since this process started."""
    metrics: RunMetrics | None = getattr(request.app.state, "metrics", None)
    if metrics is None:
        raise ApiError(503, "unavailable", "metrics are not running")
    return Response(metrics.render(), media_type=metrics.content_type)
