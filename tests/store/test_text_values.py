"""Text the backends differ on: NUL characters and values longer than a column."""

from __future__ import annotations

import pytest

from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.store import repository as repo
from orchestratex.store.db import NUL_REPLACEMENT, SessionFactory
from orchestratex.store.tables import USER_NAME_CHARS


async def test_nul_characters_are_stored_and_looked_up_without_error(
    sessions: SessionFactory, db_url: str
) -> None:
    async with sessions() as session:
        request = OrchestrationRequest(prompt="before and after")
        await repo.create_thread(session=session, thread_id="t-nul", request=request)
        user, _ = await repo.create_user(session=session, name="nul\x00name")
    async with sessions() as session:
        assert await repo.get_thread(session=session, thread_id="t-nul\x00") is None
        assert await repo.get_thread_detail(session=session, thread_id="\x00") is None
        missed = await repo.list_threads(session=session, user_id=None, search="e\x00a")
        hit = await repo.list_threads(session=session, user_id=None, is_admin=True, search="and")
        stored = await repo.get_user(session=session, user_id=user.id)
    assert missed.total == 0 and [t.id for t in hit.items] == ["t-nul"]
    assert stored is not None
    if db_url.startswith("postgresql"):
        assert stored.name == "nul" + NUL_REPLACEMENT + "name"
    else:
        assert stored.name == "nul\x00name"


async def test_a_user_name_longer_than_the_column_is_refused(sessions: SessionFactory) -> None:
    async with sessions() as session:
        longest, _ = await repo.create_user(session=session, name="n" * USER_NAME_CHARS)
        with pytest.raises(ValueError, match="at most"):
            await repo.create_user(session=session, name="n" * (USER_NAME_CHARS + 1))
        names = [u.name for u in await repo.list_users(session=session)]
    assert names == [longest.name]
