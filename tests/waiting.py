"""Waiting in tests: on a condition, with a deadline; never for a fixed time.

`until` (in a coroutine) and `until_sync` (in plain code) re-check a condition until it holds
and return what it returned; past the deadline they fail, saying what was awaited. Use them
where the condition has no event to await (a stored row, a status, a counter, a file); where
there is an event, await the event under `asyncio.timeout` instead. `uvicorn_started` waits for
a uvicorn server started in the test's loop; `run_ended` and `status_ended` for a run's end, seen
in process or over HTTP.

The pause between two checks is the only sleep: it paces the re-check, it waits for nothing by
itself, and a condition that already holds costs no pause at all.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import httpx
import uvicorn

from orchestratex.runtime.auth import ANONYMOUS, Principal
from orchestratex.runtime.service import Service, ThreadStatus

T = TypeVar("T")
ENDED = ("completed", "failed", "cancelled", "interrupted")

EVERY_S = 0.02
"""The pause between two checks of a condition."""


def _expired(what: str, timeout_s: float, last: object) -> AssertionError:
    return AssertionError(f"not {what} within {timeout_s:g} s (last check: {last!r})")


@overload
async def until(
    check: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    timeout_s: float = ...,
    every_s: float = ...,
) -> T: ...


@overload
async def until(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout_s: float = ...,
    every_s: float = ...,
) -> T: ...


async def until(
    check: Callable[[], Any],
    *,
    what: str,
    timeout_s: float = 10.0,
    every_s: float = EVERY_S,
) -> Any:
    """The first truthy value of `check()` (a function or a coroutine function)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found = check()
        value = await found if inspect.isawaitable(found) else found
        if value:
            return value
        if loop.time() >= deadline:
            raise _expired(what, timeout_s, value)
        await asyncio.sleep(every_s)  # paces the re-check (see the module's docstring)


def until_sync(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout_s: float = 10.0,
    every_s: float = EVERY_S,
) -> T:
    """`until` for code that is not a coroutine (a thread, a sync test client)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _expired(what, timeout_s, value)
        time.sleep(every_s)  # paces the re-check (see the module's docstring)


async def uvicorn_started(
    server: uvicorn.Server, task: asyncio.Task[Any], timeout_s: float = 30.0
) -> None:
    """Return once `server` (serving in `task`) listens; fail if it ends or takes too long."""

    def started() -> bool:
        if task.done():
            task.result()  # its exception, if it failed
            raise AssertionError("the server stopped before it started")
        return bool(server.started)

    await until(started, what="the server started", timeout_s=timeout_s, every_s=0.005)


async def run_ended(
    service: Service, thread_id: str, *, user: Principal = ANONYMOUS, timeout_s: float = 30.0
) -> ThreadStatus:
    """The thread's status once its run has ended and no longer runs here."""

    async def ended() -> ThreadStatus | None:
        found = await service.status(thread_id, user=user)
        assert found is not None, f"no thread {thread_id}"
        return found if found.status in ENDED and not found.live else None

    return await until(ended, what=f"thread {thread_id} ended", timeout_s=timeout_s)


async def status_ended(
    http: httpx.AsyncClient,
    thread_id: str,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """The status body (`/api/orchestrate/status/...`) once the thread's run has ended."""

    async def ended() -> dict[str, Any] | None:
        response = await http.get(f"/api/orchestrate/status/{thread_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["status"] in ENDED and not body["live"] else None

    return await until(ended, what=f"thread {thread_id} ended", timeout_s=timeout_s)
