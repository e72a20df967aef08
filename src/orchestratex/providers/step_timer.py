"""A timeout for each awaited step of one call, kept by a single timer.

A stream awaits its adapter once per text delta, and each wait gets the call's whole timeout
(a provider that stalls mid-answer is given up on; a long answer that keeps coming is not).
`asyncio.timeout` per delta schedules and cancels a timer each time; `StepTimer` keeps one
timer per call and only moves it when it fires early: when it fires it checks whether the
step in progress has been waiting `timeout_s` and, if not, sleeps again until that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

_T = TypeVar("_T")


class StepTimer:
    """Runs awaited steps of one task, cancelling a step that waits more than `timeout_s`.

    `step` raises what `on_timeout()` returns when its step timed out; a cancellation from
    anyone else goes through untouched. Call `close` when the call is over.
    """

    __slots__ = (
        "timeout_s",
        "_on_timeout",
        "_loop",
        "_task",
        "_timer",
        "_since",
        "_waiting",
        "_fired",
        "_steps",
    )

    def __init__(self, timeout_s: float, on_timeout: Callable[[], BaseException]) -> None:
        self.timeout_s = timeout_s
        self._on_timeout = on_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._waiting = False
        self._fired = False
        self._steps = 0

    async def step(self, awaitable: Awaitable[_T]) -> _T:
        """Await `awaitable`, for at most `timeout_s` seconds."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
        task = self._task
        assert task is not None
        self._since = loop.time()
        self._steps += 1
        if self._timer is None:
            self._timer = loop.call_at(self._since + self.timeout_s, self._check)
        cancelling = task.cancelling()
        self._waiting = True
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self._fired:
                self._fired = False
                if task.uncancel() <= cancelling:
                    raise self._on_timeout() from None
            raise
        finally:
            self._waiting = False
            if self._fired:  # the step swallowed our cancellation: withdraw it
                self._fired = False
                task.uncancel()

    def _check(self) -> None:
        self._timer = None
        if not self._waiting or self._loop is None or self._task is None:
            return  # no step in progress: the next one schedules a timer again
        due = self._since + self.timeout_s
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check)
            return
        # Expire on the next turn of the loop: I/O that arrived in this turn has woken the
        # task already (I/O callbacks run before timers), so an answer whose bytes are in
        # is read rather than thrown away; a step still waiting then is cancelled.
        self._loop.call_soon(self._expire, self._steps)

    def _expire(self, step: int) -> None:
        if self._waiting and step == self._steps and self._task is not None:
            self._fired = True
            self._task.cancel()

    def close(self) -> None:
        """Drop the timer (the call is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
