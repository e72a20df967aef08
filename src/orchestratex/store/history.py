"""The judged history a learned quality model is fitted on."""

from __future__ import annotations

from sqlalchemy import select

from orchestratex.store.db import SessionFactory
from orchestratex.store.tables import Prompt, Response


async def judged_answers(sessions: SessionFactory) -> list[tuple[str, str, float, float, float]]:
    """Every judged answer, oldest first: (prompt, model, score, cost_usd, latency_ms)."""
    query = (
        select(
            Prompt.text,
            Response.model,
            Response.score,
            Response.cost_usd,
            Response.latency_ms,
        )
        .join(Prompt, Prompt.thread_id == Response.thread_id)
        .where(Response.score.is_not(None))
        .order_by(Response.created_at, Response.id)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        (text, model, float(score), float(cost), float(latency))
        for text, model, score, cost, latency in rows
        if score is not None
    ]
