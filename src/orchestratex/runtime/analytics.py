"""Analytics as the surfaces read them: the store's SQL aggregations over one scope.

`Analytics` answers for a running service (`Service.analytics`); `local_dashboard` opens the
configured database for one report (the CLI without `--server`). The typed views are the
store's, re-exported here so `api` and `cli` need not import the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from orchestratex.runtime.settings import Settings
from orchestratex.store import analytics
from orchestratex.store.facade import Store
from orchestratex.store.views import (
    Bucket,
    CostReport,
    Dashboard,
    ModelStatsRow,
    SelectionAccuracy,
    UsageReport,
)

__all__ = [
    "Analytics",
    "Bucket",
    "CostReport",
    "Dashboard",
    "ModelStatsRow",
    "Scope",
    "SelectionAccuracy",
    "UsageReport",
    "local_dashboard",
]


T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """Whose runs (None: everyone's) and which period (`until` exclusive) the figures cover."""

    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class Analytics:
    """`settle`, when given, is awaited before each report: the service's event writer stores
    what runs emitted so far, so a run that just ended (its client saw the terminal event) is
    in the figures read right after it."""

    def __init__(self, store: Store, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        self._store = store
        self._settle = settle

    async def _ask(self, query: Callable[..., Awaitable[T]], scope: Scope, **more: Any) -> T:
        if self._settle is not None:
            await self._settle()
        async with self._store.sessions() as session:
            return await query(
                session=session, user_id=scope.user_id, since=scope.since, until=scope.until, **more
            )

    async def models(self, scope: Scope) -> list[ModelStatsRow]:
        return await self._ask(analytics.models, scope)

    async def costs(self, scope: Scope, bucket: Bucket) -> CostReport:
        return await self._ask(analytics.costs, scope, bucket=bucket)

    async def selection_accuracy(self, scope: Scope) -> SelectionAccuracy:
        return await self._ask(analytics.selection_accuracy, scope)

    async def usage(self, scope: Scope) -> UsageReport:
        return await self._ask(analytics.usage, scope)

    async def dashboard(self, scope: Scope, bucket: Bucket) -> Dashboard:
        return await self._ask(analytics.dashboard, scope, bucket=bucket)


async def local_dashboard(settings: Settings, scope: Scope, bucket: Bucket) -> Dashboard:
    """The dashboard read from the configured database (migrated first), then closed."""
    store = Store(settings.effective_database_url)
    try:
        await store.start()
        return await Analytics(store).dashboard(scope, bucket)
    finally:
        await store.aclose()
