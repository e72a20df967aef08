"""Who may see a thread, and its status as the API shows it (stored, or live in this process)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestratex.runtime.auth import Principal
from orchestratex.runtime.runs import RunManager
from orchestratex.store.facade import Store

UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class ThreadStatus:
    thread_id: str
    status: str
    user_id: str | None
    live: bool
    data: dict[str, Any]


def _starting(runs: RunManager, thread_id: str) -> dict[str, Any]:
    """The status fields of a run whose first events are not stored yet."""
    now = datetime.now(UTC)
    events = runs.in_memory(thread_id)
    return {
        "prompt_preview": "",
        "domain": None,
        "selected_model": None,
        "best_round": None,
        "score": None,
        "stop_reason": None,
        "answer": None,
        "rounds": 0,
        "total_cost_usd": 0.0,
        "input_tokens": 0,
        "output_tokens": 0,
        "error": None,
        "created_at": events[0].ts if events else now,
        "updated_at": events[-1].ts if events else now,
        "completed_at": None,
        "last_seq": events[-1].seq if events else 0,
    }


def visible(user: Principal, owner: str | None) -> bool:
    """An admin sees every thread; a user their own."""
    return user.is_admin or (user.user_id is not None and owner == user.user_id)


async def thread_status(
    store: Store, runs: RunManager, thread_id: str, user: Principal, *, watch_remote: bool
) -> ThreadStatus | None:
    """The thread's status, or None when it does not exist or `user` may not see it. A run of
    this process whose first events are not stored yet shows as running."""
    found = await store.thread_state(thread_id)
    if found is None:
        running, owner = runs.owner(thread_id)
        if running and visible(user, owner):
            return ThreadStatus(thread_id, "running", owner, True, _starting(runs, thread_id))
        return None
    if not visible(user, found.user_id):
        return None
    if watch_remote and found.status in UNFINISHED:
        runs.watch_remote(thread_id)
    live = runs.is_live(thread_id)
    return ThreadStatus(thread_id, found.status, found.user_id, live, found.data)
