"""Shared pieces: a tiny router that wants the strong model for 'integral' prompts, and runs."""

from __future__ import annotations

import random
from pathlib import Path

from orchestratex.bench.router_io import save
from orchestratex.engine.router import LearnedRouter
from orchestratex.runtime.service import Service
from orchestratex.store import repository
from orchestratex.store.views import DecisionDetail
from tests.waiting import run_ended

_WORDS = [
    "please",
    "tell",
    "me",
    "about",
    "the",
    "of",
    "a",
    "to",
    "and",
    "in",
    "is",
    "for",
    "on",
    "with",
    "what",
    "how",
    "can",
    "you",
]


def integral_router(path: Path) -> LearnedRouter:
    """Fit a router whose strong score is high iff the prompt says 'integral'; save it."""
    rng = random.Random(7)
    prompts: list[str] = []
    targets: list[float] = []
    for i in range(80):
        hard = i % 2 == 0
        words = [*rng.choices(_WORDS, k=10), "integral" if hard else "hello"]
        rng.shuffle(words)
        prompts.append(" ".join(words))
        targets.append(1.0 if hard else 0.0)
    router = LearnedRouter(bits=14).fit(prompts, targets)
    save(router, path)
    return router


async def first_decision(
    service: Service, thread_id: str, timeout_s: float = 30.0
) -> DecisionDetail:
    """The thread's first selection decision as the thread detail shows it, once the run ended."""
    await run_ended(service, thread_id, timeout_s=timeout_s)
    async with service.sessions() as session:
        detail = await repository.get_thread_detail(session=session, thread_id=thread_id)
    assert detail is not None and detail.decisions
    return detail.decisions[0]
