"""Administration without a running service (the CLI): API keys, whether auth is on, and the
learned quality model. Each call opens the configured database, migrated first, and closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from orchestratex.engine.learned_quality import DEFAULT_MIN_HISTORY, QualityModel
from orchestratex.runtime import auth, quality_model
from orchestratex.runtime.auth import KeyInfo, NewKey
from orchestratex.runtime.settings import Settings
from orchestratex.store.facade import Store
from orchestratex.store.tables import USER_NAME_CHARS

__all__ = [
    "USER_NAME_CHARS",
    "KeyInfo",
    "NewKey",
    "auth_configured",
    "create_key",
    "list_keys",
    "revoke_key",
    "train_quality_model",
]


@asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[Store]:
    store = Store(settings.effective_database_url)
    try:
        await store.start()
        yield store
    finally:
        await store.aclose()


async def create_key(
    settings: Settings, *, name: str, is_admin: bool = False, budget_usd: float | None = None
) -> NewKey:
    """A new user holding a new key; the key itself is in the answer only."""
    async with _opened(settings) as store:
        return await store.write(
            lambda session: auth.create_key(
                session, name=name, is_admin=is_admin, budget_usd=budget_usd
            )
        )


async def list_keys(settings: Settings) -> list[KeyInfo]:
    async with _opened(settings) as store, store.sessions() as session:
        return await auth.list_keys(session)


async def revoke_key(settings: Settings, prefix: str) -> int:
    """Revoke the active keys shown as `prefix`; returns how many."""
    async with _opened(settings) as store:
        return await store.write(lambda session: auth.revoke_key(session, prefix))


async def auth_configured(settings: Settings) -> bool:
    """True when the database holds at least one usable API key."""
    async with _opened(settings) as store, store.sessions() as session:
        return await auth.auth_enabled(session)


async def train_quality_model(
    settings: Settings, path: Path, *, min_history: int = DEFAULT_MIN_HISTORY
) -> tuple[QualityModel, int]:
    """Fit the quality model on the store's judged history and save it to `path`."""
    async with _opened(settings) as store:
        return await quality_model.train_quality_model(store, path, min_history=min_history)
