"""Analytics: per-model quality, spending, selection accuracy and usage, by SQL aggregation.

A user sees figures over their own runs; an admin sees everyone's, or one user's with `user_id`.
Times are ISO 8601; values without a zone are taken as UTC. `until` is exclusive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.errors import ApiError
from orchestratex.runtime.analytics import (
    Bucket,
    CostReport,
    Dashboard,
    ModelStatsRow,
    Scope,
    SelectionAccuracy,
    UsageReport,
)

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


def _utc(value: datetime | None, name: str) -> datetime | None:
    """The time in UTC; 422 when the offset moves it out of the representable range."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ApiError(422, "invalid_request", f"{name}: out of range") from None


async def scope(
    user: CurrentUser,
    since: Annotated[datetime | None, Query(description="from this time on")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
    user_id: Annotated[
        str | None, Query(max_length=64, description="admins only: one user's figures")
    ] = None,
) -> Scope:
    since, until = _utc(since, "since"), _utc(until, "until")
    if since is not None and until is not None and since >= until:
        raise ApiError(422, "invalid_request", "since: must be earlier than until")
    if user.is_admin:
        return Scope(user_id=user_id, since=since, until=until)
    if user_id is not None and user_id != user.user_id:
        raise ApiError(403, "forbidden", "only an admin may read another user's figures")
    return Scope(user_id=user.user_id, since=since, until=until)


ScopeDep = Annotated[Scope, Depends(scope)]
PeriodQuery = Annotated[Bucket, Query(description="time bucket of the cost series")]


@router.get("/models")
async def model_stats(service: ServiceDep, where: ScopeDep) -> list[ModelStatsRow]:
    """Per model and domain: rounds answered, mean judge score and latency, call success rate."""
    return await service.analytics.models(where)


@router.get("/costs")
async def costs(service: ServiceDep, where: ScopeDep, period: PeriodQuery = "day") -> CostReport:
    """Spend by model and by hour, day or week (UTC; weeks start on Monday)."""
    return await service.analytics.costs(where, period)


@router.get("/selection-accuracy")
async def selection_accuracy(service: ServiceDep, where: ScopeDep) -> SelectionAccuracy:
    """How often the first choice was kept without escalation, and when the threshold was met."""
    return await service.analytics.selection_accuracy(where)


@router.get("/usage")
async def usage(service: ServiceDep, where: ScopeDep) -> UsageReport:
    """Runs by status, calls, tokens, success rate and latency."""
    return await service.analytics.usage(where)


@router.get("/dashboard")
async def dashboard(service: ServiceDep, where: ScopeDep, period: PeriodQuery = "day") -> Dashboard:
    """The four reports in one answer, with the same filters."""
    return await service.analytics.dashboard(where, period)
