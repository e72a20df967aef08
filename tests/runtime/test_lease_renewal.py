"""Lease renewal: a renewal the database refuses is tried again within the same period."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from orchestratex.runtime import recovery
from tests.waiting import until


class Manager:
    instance_id = "runner-1"

    def __init__(self) -> None:
        self.periods = 0

    def active_runs(self) -> dict[str, str | None]:
        self.periods += 1
        return {"t2": None, "t1": None}


class Store:
    """Refuses the first `failures` renewals (as PostgreSQL ends one side of a deadlock)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, list[str], int]] = []

    async def renew(self, runner_id: str, thread_ids: list[str]) -> int:
        self.calls.append((runner_id, thread_ids, len(self.calls)))
        if len(self.calls) <= self.failures:
            raise RuntimeError("deadlock detected")
        return len(thread_ids)


@pytest.mark.parametrize("failures", [1, 2])
async def test_a_refused_renewal_is_tried_again_in_the_same_period(failures: int) -> None:
    manager, store = Manager(), Store(failures)
    keeping = asyncio.create_task(
        recovery.keep_leases(cast(Any, manager), cast(Any, store), None, ttl=1.5)
    )
    try:
        await until(lambda: len(store.calls) > failures, what="a renewal that went through")
        renewed_in_period = manager.periods
    finally:
        keeping.cancel()
    assert renewed_in_period == 1, "renewed in the period it first failed, not a period later"
    assert [ids for _r, ids, _n in store.calls] == [["t1", "t2"]] * (failures + 1)
