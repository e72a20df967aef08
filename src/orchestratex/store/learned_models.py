"""Learned models in the database: the latest trained form of each, shared by every instance,
and a lease so that only one instance at a time retrains a model on its schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orchestratex.store.db import SessionFactory
from orchestratex.store.sql import LEARNED, upsert
from orchestratex.store.tables import LearnedModel, Response, utc_now
from orchestratex.store.writes import Writes


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """Which trained form is stored: when, by whom, on how many judged answers."""

    trained_at: datetime
    judged_answers: int
    trained_by: str | None


async def _ensure_row(session: AsyncSession, name: str) -> None:
    """The model's row, made if missing (by whichever instance comes first)."""
    statement = upsert(session, LEARNED).on_conflict_do_nothing(index_elements=["name"])
    await session.execute(statement, [{"name": name, "judged_answers": 0}])


async def claim_trainer(writes: Writes, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the lease to retrain `name` for `ttl_s` seconds; False when another
    instance holds a lease that has not expired."""

    async def claim(session: AsyncSession) -> bool:
        await _ensure_row(session, name)
        now = utc_now()
        result = await session.execute(
            update(LearnedModel)
            .where(
                LearnedModel.name == name,
                or_(
                    LearnedModel.trainer_id.is_(None),
                    LearnedModel.trainer_id == holder,
                    LearnedModel.trainer_until.is_(None),
                    LearnedModel.trainer_until < now,
                ),
            )
            .values(trainer_id=holder, trainer_until=now + timedelta(seconds=ttl_s))
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    return await writes.run(claim)


async def release_trainer(writes: Writes, name: str, holder: str) -> None:
    """Give the lease up (at a stop), so another instance takes over at once."""
    statement = (
        update(LearnedModel)
        .where(LearnedModel.name == name, LearnedModel.trainer_id == holder)
        .values(trainer_id=None, trainer_until=None)
    )
    await writes.run(lambda session: session.execute(statement))


async def stored_version(sessions: SessionFactory, name: str) -> ModelVersion | None:
    """The stored form's version, or None when none was trained yet."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(
                    LearnedModel.trained_at, LearnedModel.judged_answers, LearnedModel.trained_by
                ).where(LearnedModel.name == name, LearnedModel.body.is_not(None))
            )
        ).first()
    if row is None or row[0] is None:
        return None
    return ModelVersion(row[0], int(row[1]), row[2])


async def load_body(sessions: SessionFactory, name: str) -> tuple[str, ModelVersion] | None:
    """The stored model's JSON and version, or None."""
    async with sessions() as session:
        row = await session.get(LearnedModel, name)
    if row is None or row.body is None or row.trained_at is None:
        return None
    return row.body, ModelVersion(row.trained_at, row.judged_answers, row.trained_by)


async def save_body(
    writes: Writes, name: str, body: str, *, judged_answers: int, trained_by: str
) -> ModelVersion:
    """Store a newly trained form of `name` (it replaces the one before)."""
    now = utc_now()

    async def save(session: AsyncSession) -> None:
        await _ensure_row(session, name)
        await session.execute(
            update(LearnedModel)
            .where(LearnedModel.name == name)
            .values(body=body, judged_answers=judged_answers, trained_at=now, trained_by=trained_by)
        )

    await writes.run(save)
    return ModelVersion(now, judged_answers, trained_by)


async def count_judged(sessions: SessionFactory) -> int:
    """How many judged answers (responses with a score) the store holds."""
    async with sessions() as session:
        value = await session.scalar(
            select(func.count()).select_from(Response).where(Response.score.is_not(None))
        )
    return int(value or 0)
