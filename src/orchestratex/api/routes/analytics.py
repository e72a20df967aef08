"""Analytics: per-model quality, spending, selection accuracy and usage, by SQL aggregation.

A user sees figures over their own runs; an admin sees everyone's, or one user's with `user_id`.
Times are ISO 8601; values without a zone are taken as UTC. `until` is exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.errors import ApiError
from orchestratex.store import analytics
from orchestratex.store.views import (
    Bucket,
    CostReport,
    Dashboard,
    ModelStatsRow,
    SelectionAccuracy,
    UsageReport,
)

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


@dataclass(frozen=True)
class Scope:
    """Whose runs and which period the figures cover."""

    user_id: str | None
    since: datetime | None
    until: datetime | None


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
    async with service.sessions() as session:
        return await analytics.models(
            session=session, user_id=where.user_id, since=where.since, until=where.until
        )


@router.get("/costs")
async def costs(service: ServiceDep, where: ScopeDep, period: PeriodQuery = "day") -> CostReport:
    """Spend by model and by hour, day or week (UTC; weeks start on Monday)."""
    async with service.sessions() as session:
        return await analytics.costs(
            session=session,
            user_id=where.user_id,
            bucket=period,
            since=where.since,
            until=where.until,
        )


@router.get("/selection-accuracy")
async def selection_accuracy(service: ServiceDep, where: ScopeDep) -> SelectionAccuracy:
    """How often the first choice was kept without escalation, and when the threshold was met."""
    async with service.sessions() as session:
        return await analytics.selection_accuracy(
            session=session, user_id=where.user_id, since=where.since, until=where.until
        )


@router.get("/usage")
async def usage(service: ServiceDep, where: ScopeDep) -> UsageReport:
    """Runs by status, calls, tokens, success rate and latency."""
    async with service.sessions() as session:
        return await analytics.usage(
            session=session, user_id=where.user_id, since=where.since, until=where.until
        )


@router.get("/dashboard")
async def dashboard(service: ServiceDep, where: ScopeDep, period: PeriodQuery = "day") -> Dashboard:
    """The four reports in one answer, with the same filters."""
    async with service.sessions() as session:
        return await analytics.dashboard(
            session=session,
            user_id=where.user_id,
            bucket=period,
            since=where.since,
            until=where.until,
        )
