"""One counter that moves whenever this process commits a change to the users table.

Every write to `users` goes through the ORM (a key is created with `session.add`, revoked by
setting its hash, a budget changed with `update(User)`), so SQLAlchemy's events see each one:
a session that inserted, updated or deleted a user is marked, and its commit moves the counter
(a rollback drops the mark). Caches of key answers (runtime/key_cache.py) compare the counter
with the one they saw, so a key made or revoked in this process, through any session of any
store, counts from the next request on. Changes committed by another process (the CLI's
`orchestratex keys`, another instance) are not seen here: the caches' time to live bounds them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, object_session

from orchestratex.store.tables import User

_MARK = "orchestratex.users_changed"


class _Counter:
    value = 0


def generation() -> int:
    """Commits of this process that changed a user so far."""
    return _Counter.value


def _mark(session: Session | None) -> None:
    if session is not None:
        session.info[_MARK] = True


def _row_changed(_mapper: Mapper[Any], _connection: Any, target: User) -> None:
    _mark(object_session(target))


for _name in ("after_insert", "after_update", "after_delete"):
    event.listen(User, _name, _row_changed)


@event.listens_for(Session, "do_orm_execute")
def _statement(state: ORMExecuteState) -> None:
    """A bulk `insert/update/delete(User)` statement, which no row event sees."""
    if state.is_select:
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ is User:
        _mark(state.session)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_MARK, False):
        _Counter.value += 1


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_MARK, None)
