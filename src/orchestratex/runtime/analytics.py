"""Analytics as the surfaces read them: the store's SQL aggregations over one scope.

`Analytics` answers for a running service (`Service.analytics`); `local_dashboard` opens the
configured database for one report (the CLI without `--server`). The typed views are the
store's, re-exported here so `api` and `cli` need not import the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True)
class Scope:
    """Whose runs (None: everyone's) and which period (`until` exclusive) the figures cover."""

    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class Analytics:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def models(self, scope: Scope) -> list[ModelStatsRow]:
        async with self._store.sessions() as session:
            return await analytics.models(
                session=session, user_id=scope.user_id, since=scope.since, until=scope.until
            )

    async def costs(self, scope: Scope, bucket: Bucket) -> CostReport:
        async with self._store.sessions() as session:
            return await analytics.costs(
                session=session,
                user_id=scope.user_id,
                bucket=bucket,
                since=scope.since,
                until=scope.until,
            )

    async def selection_accuracy(self, scope: Scope) -> SelectionAccuracy:
        async with self._store.sessions() as session:
            return await analytics.selection_accuracy(
                session=session, user_id=scope.user_id, since=scope.since, until=scope.until
            )

    async def usage(self, scope: Scope) -> UsageReport:
        async with self._store.sessions() as session:
            return await analytics.usage(
                session=session, user_id=scope.user_id, since=scope.since, until=scope.until
            )

    async def dashboard(self, scope: Scope, bucket: Bucket) -> Dashboard:
        async with self._store.sessions() as session:
            return await analytics.dashboard(
                session=session,
                user_id=scope.user_id,
                bucket=bucket,
                since=scope.since,
                until=scope.until,
            )


async def local_dashboard(settings: Settings, scope: Scope, bucket: Bucket) -> Dashboard:
    """The dashboard read from the configured database (migrated first), then closed."""
    store = Store(settings.effective_database_url)
    try:
        await store.start()
        return await Analytics(store).dashboard(scope, bucket)
    finally:
        await store.aclose()
