"""Analytics by SQL aggregation (rows are never all loaded), optionally for one user.

Time buckets are computed in SQL with a dialect-aware expression (SQLite and PostgreSQL), in UTC;
weeks start on Monday.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.core.errors import CANCELLED_CALL
from orchestratex.store.tables import Response, SelectionRecord, Thread, UsageRecord
from orchestratex.store.views import (
    Bucket,
    CostBucket,
    CostByModel,
    CostReport,
    Dashboard,
    ModelStatsRow,
    SelectionAccuracy,
    UsageReport,
)

_SQLITE_FORMATS: dict[Bucket, tuple[str, ...]] = {
    "hour": ("%Y-%m-%d %H:00:00",),
    "day": ("%Y-%m-%d 00:00:00",),
    "week": ("%Y-%m-%d 00:00:00", "weekday 0", "-6 days"),
}


def bucket_expression(dialect: str, bucket: Bucket, column: Any) -> ColumnElement[str]:
    """SQL text 'YYYY-MM-DD HH:MM:SS' of the UTC start of the bucket holding `column`."""
    if dialect == "sqlite":
        fmt, *modifiers = _SQLITE_FORMATS[bucket]
        return func.strftime(fmt, column, *modifiers)
    if dialect == "postgresql":
        truncated = func.date_trunc(bucket, func.timezone("UTC", column))
        return func.to_char(truncated, "YYYY-MM-DD HH24:MI:SS")
    raise ValueError(f"time buckets are not supported on {dialect}")


def _window(
    column: Any, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def _usage_filter(
    user_id: str | None, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    conditions = _window(UsageRecord.created_at, since, until)
    if user_id is not None:
        conditions.append(UsageRecord.user_id == user_id)
    return conditions


def _estimated(known: Any, cost: Any) -> ColumnElement[float]:
    """The sum of the costs that are not a provider's report (`cost_known` false: estimates,
    and the zeros of unpriced calls)."""
    return func.coalesce(func.sum(case((known, 0.0), else_=cost)), 0.0)


def _success_ratio() -> ColumnElement[float]:
    """Succeeded calls among those that say something of the model: a call its caller stopped
    (CANCELLED_CALL) counts neither way."""
    return func.avg(
        case(
            (UsageRecord.success, 1.0),
            (UsageRecord.error == CANCELLED_CALL, None),
            else_=0.0,
        )
    )


async def models(
    *,
    session: AsyncSession,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ModelStatsRow]:
    """Per model and domain: rounds answered, mean judge score and latency, call success rate."""
    quality = (
        select(
            Response.model,
            Thread.domain,
            func.count(),
            func.avg(Response.score),
            func.avg(Response.latency_ms),
        )
        .join(Thread, Thread.id == Response.thread_id)
        .where(*_window(Response.created_at, since, until))
        .group_by(Response.model, Thread.domain)
    )
    calls = (
        select(UsageRecord.model, Thread.domain, func.count(), _success_ratio())
        .join(Thread, Thread.id == UsageRecord.thread_id)
        .where(*_usage_filter(None, since, until))
        .group_by(UsageRecord.model, Thread.domain)
    )
    if user_id is not None:
        quality = quality.where(Thread.user_id == user_id)
        calls = calls.where(Thread.user_id == user_id)
    rows: dict[tuple[str, str | None], ModelStatsRow] = {}
    for model, domain, count, score, latency in (await session.execute(quality)).all():
        rows[(model, domain)] = ModelStatsRow(
            model=model,
            domain=domain,
            rounds=int(count),
            mean_score=None if score is None else float(score),
            mean_latency_ms=None if latency is None else float(latency),
        )
    for model, domain, count, ratio in (await session.execute(calls)).all():
        row = rows.setdefault((model, domain), ModelStatsRow(model=model, domain=domain))
        row.calls = int(count)
        row.success_rate = None if ratio is None else float(ratio)
    return sorted(rows.values(), key=lambda r: (r.model, r.domain or ""))


async def costs(
    *,
    session: AsyncSession,
    user_id: str | None = None,
    bucket: Bucket = "day",
    since: datetime | None = None,
    until: datetime | None = None,
) -> CostReport:
    """Spend by model and by time bucket over the period, estimates included (and shown apart:
    `estimated_cost_usd`)."""
    conditions = _usage_filter(user_id, since, until)
    by_model = await session.execute(
        select(
            UsageRecord.model,
            func.count(),
            func.coalesce(func.sum(UsageRecord.input_tokens), 0),
            func.coalesce(func.sum(UsageRecord.output_tokens), 0),
            func.coalesce(func.sum(UsageRecord.cost_usd), 0.0),
            func.coalesce(func.sum(case((UsageRecord.cost_known, 0), else_=1)), 0),
            _estimated(UsageRecord.cost_known, UsageRecord.cost_usd),
        )
        .where(*conditions)
        .group_by(UsageRecord.model)
        .order_by(UsageRecord.model)
    )
    model_rows = [
        CostByModel(
            model=model,
            calls=int(calls),
            input_tokens=int(tin),
            output_tokens=int(tout),
            cost_usd=float(cost),
            unknown_cost_calls=int(unknown),
            estimated_cost_usd=float(estimated),
        )
        for model, calls, tin, tout, cost, unknown, estimated in by_model.all()
    ]
    dialect = session.get_bind().dialect.name
    labelled = (
        select(
            bucket_expression(dialect, bucket, UsageRecord.created_at).label("start"),
            UsageRecord.cost_usd.label("cost"),
            UsageRecord.cost_known.label("known"),
        )
        .where(*conditions)
        .subquery()
    )
    by_bucket = await session.execute(
        select(
            labelled.c.start,
            func.count(),
            func.coalesce(func.sum(labelled.c.cost), 0.0),
            _estimated(labelled.c.known, labelled.c.cost),
        )
        .group_by(labelled.c.start)
        .order_by(labelled.c.start)
    )
    bucket_rows = [
        CostBucket(
            start=datetime.fromisoformat(start).replace(tzinfo=UTC),
            calls=int(calls),
            cost_usd=float(cost),
            estimated_cost_usd=float(estimated),
        )
        for start, calls, cost, estimated in by_bucket.all()
    ]
    return CostReport(
        bucket=bucket,
        total_cost_usd=sum(r.cost_usd for r in model_rows),
        estimated_cost_usd=sum(r.estimated_cost_usd for r in model_rows),
        by_model=model_rows,
        by_bucket=bucket_rows,
    )


async def selection_accuracy(
    *,
    session: AsyncSession,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SelectionAccuracy:
    """Over the first-round decisions of ended runs (a fallback's too: a run whose chosen model
    failed has two): the share kept (outcomes.decision_kept, the one rule), and per run the
    round that met the threshold. A request that named its model (strategy `forced`) made no
    selection and is not counted."""
    conditions = [
        SelectionRecord.round == 1,
        SelectionRecord.strategy != "forced",
        SelectionRecord.kept_without_escalation.is_not(None),
        *_window(SelectionRecord.created_at, since, until),
    ]
    if user_id is not None:
        owned = select(Thread.id).where(Thread.user_id == user_id)
        conditions.append(SelectionRecord.thread_id.in_(owned))
    totals = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(
                    func.sum(case((SelectionRecord.kept_without_escalation.is_(True), 1), else_=0)),
                    0,
                ),
            ).where(*conditions)
        )
    ).one()
    spread = await session.execute(
        select(SelectionRecord.threshold_round, func.count(SelectionRecord.thread_id.distinct()))
        .where(*conditions)
        .group_by(SelectionRecord.threshold_round)
        .order_by(SelectionRecord.threshold_round)
    )
    decided, kept = int(totals[0]), int(totals[1])
    return SelectionAccuracy(
        decisions=decided,
        kept_without_escalation=kept,
        share_kept=kept / decided if decided else None,
        threshold_rounds={
            ("never" if rnd is None else str(rnd)): int(n) for rnd, n in spread.all()
        },
    )


async def usage(
    *,
    session: AsyncSession,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> UsageReport:
    """Run volumes by status, call volumes, tokens, success rate, mean and median latency."""
    thread_conditions = _window(Thread.created_at, since, until)
    if user_id is not None:
        thread_conditions.append(Thread.user_id == user_id)
    statuses = await session.execute(
        select(Thread.status, func.count()).where(*thread_conditions).group_by(Thread.status)
    )
    by_status = {status: int(n) for status, n in statuses.all()}
    conditions = _usage_filter(user_id, since, until)
    calls, ok, ratio, tin, tout, mean_latency = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((UsageRecord.success, 1), else_=0)), 0),
                _success_ratio(),
                func.coalesce(func.sum(UsageRecord.input_tokens), 0),
                func.coalesce(func.sum(UsageRecord.output_tokens), 0),
                func.avg(cast(UsageRecord.latency_ms, Float)),
            ).where(*conditions)
        )
    ).one()
    median = None
    if calls:
        median = await session.scalar(
            select(UsageRecord.latency_ms)
            .where(*conditions)
            .order_by(UsageRecord.latency_ms)
            .offset((int(calls) - 1) // 2)
            .limit(1)
        )
    return UsageReport(
        threads=sum(by_status.values()),
        threads_by_status=by_status,
        calls=int(calls),
        successful_calls=int(ok),
        success_rate=None if ratio is None else float(ratio),
        input_tokens=int(tin),
        output_tokens=int(tout),
        mean_latency_ms=None if mean_latency is None else float(mean_latency),
        p50_latency_ms=None if median is None else float(median),
    )


async def dashboard(
    *,
    session: AsyncSession,
    user_id: str | None = None,
    bucket: Bucket = "day",
    since: datetime | None = None,
    until: datetime | None = None,
) -> Dashboard:
    """The four reports in one call, with the same filters."""
    return Dashboard(
        models=await models(session=session, user_id=user_id, since=since, until=until),
        costs=await costs(
            session=session, user_id=user_id, bucket=bucket, since=since, until=until
        ),
        selection=await selection_accuracy(
            session=session, user_id=user_id, since=since, until=until
        ),
        usage=await usage(session=session, user_id=user_id, since=since, until=until),
    )
