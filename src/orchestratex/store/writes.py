"""Where the store's writes run: `await writes.run(work)` runs `work(session)` in one
transaction and returns what it returns (or raises what it raised).

On SQLite (`SerialWrites`) one task owns one connection and performs every write of the
process, one transaction after the other, in the order they were asked for. Two writes never
contend for SQLite's single write lock, so none waits out `busy_timeout` or fails with
"database is locked", however many are asked for at once; reads keep their own pooled
connections (WAL lets them run beside the writer). On PostgreSQL (`PooledWrites`) a write runs
in the caller's task on a pooled session: concurrent writers are fine there.

A transaction's meaning is the work's: everything `work` does commits together (or not at all).
A caller cancelled before its turn is skipped; once its work has begun, it runs to its end.
`work` must only use its session: it runs on the writer task, so it must not wait for another
write (that would wait for itself; `run` refuses it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orchestratex.store.db import SessionFactory, create_engine, create_session_factory, sqlite_file

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]


class Writes(Protocol):
    async def run(self, work: Work[T]) -> T:
        """Run `work` in one transaction (committed unless it raises) and return its result."""
        ...

    async def aclose(self) -> None:
        """Finish the writes asked for, then release what the writes hold."""
        ...


async def _in_transaction(sessions: SessionFactory, work: Work[T]) -> T:
    async with sessions() as session:
        try:
            result = await work(session)
            if session.in_transaction():
                await session.commit()
        except BaseException:
            if session.in_transaction():
                await session.rollback()
            raise
        return result


class PooledWrites:
    """Each write on a pooled session, in the caller's task (PostgreSQL, or a bare factory)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def run(self, work: Work[T]) -> T:
        return await _in_transaction(self._sessions, work)

    async def aclose(self) -> None:
        return None


_Job = tuple[Work[Any], "asyncio.Future[Any]"]


class SerialWrites:
    """Every write performed by one task on one connection of `engine` (a pool of one)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = create_session_factory(engine)
        self._jobs: deque[_Job] = deque()
        self._has_jobs = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.performed = 0
        """Writes performed so far (committed or failed)."""
        self.most_waiting = 0
        """The most writes that waited for their turn at once."""

    def _ensure_task(self) -> asyncio.Task[None]:
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            self._closing = False
            self._has_jobs = asyncio.Event()
            task = asyncio.create_task(self._serve(), name="orchestratex-sqlite-writer")
            task.add_done_callback(self._stopped)
            self._task = task
        return task

    async def run(self, work: Work[T]) -> T:
        task = self._ensure_task()
        if asyncio.current_task() is task:
            raise RuntimeError("a write cannot wait for another write (it runs on the writer)")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.append((work, future))
        self.most_waiting = max(self.most_waiting, len(self._jobs))
        self._has_jobs.set()
        return await future

    async def _serve(self) -> None:
        while True:
            if not self._jobs:
                if self._closing:
                    return
                self._has_jobs.clear()
                await self._has_jobs.wait()
                continue
            work, future = self._jobs.popleft()
            if future.done():  # its caller was cancelled while it waited
                continue
            try:
                result = await _in_transaction(self._sessions, work)
            except asyncio.CancelledError:
                if not future.done():
                    future.cancel()
                raise
            except BaseException as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self.performed += 1

    def _stopped(self, task: asyncio.Task[None]) -> None:
        """The task ended (closed, or cancelled with its loop): no caller waits forever."""
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("the SQLite writer stopped: %s", type(error).__name__)
        for _, future in self._jobs:
            if not future.done():
                future.set_exception(RuntimeError("the store's writer stopped"))
        self._jobs.clear()

    async def aclose(self) -> None:
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            self._closing = True
            self._has_jobs.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
        self._task = None
        await self.engine.dispose()


def writes_for(url: str, engine: AsyncEngine) -> Writes:
    """The writes of a store whose reads use `engine` (made from `url`)."""
    if engine.dialect.name != "sqlite":
        return PooledWrites(create_session_factory(engine))
    if sqlite_file(url) is None:  # in memory: the one database is the one the reads see
        return SerialWrites(engine)
    return SerialWrites(create_engine(url, pool_size=1, max_overflow=0))


def as_writes(target: SessionFactory | Writes) -> Writes:
    """`target` itself, or a bare session factory's writes (each on a session of its own)."""
    if isinstance(target, async_sessionmaker):
        return PooledWrites(target)
    return target
