"""A handle on one orchestration in progress: its events, its result, and a way to cancel it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from orchestratex.core.events import Event
from orchestratex.core.orchestration import OrchestrationResult
from orchestratex.engine.emitter import Emitter


class Run:
    """Created by `Orchestrator.start`; the run itself proceeds in a background task."""

    def __init__(
        self,
        thread_id: str,
        emitter: Emitter,
        task: asyncio.Task[OrchestrationResult],
        on_cancel: Callable[[], None],
    ) -> None:
        self.thread_id = thread_id
        self._emitter = emitter
        self._task = task
        self._on_cancel = on_cancel

    def events(self) -> AsyncIterator[Event]:
        """Every event of the run from the first, then live ones; ends after the terminal one.

        Several consumers may iterate at once; each sees the whole sequence.
        """
        return self._emitter.subscribe()

    async def result(self) -> OrchestrationResult:
        """Wait for the run to end and return its result (completed, failed or cancelled)."""
        return await asyncio.shield(self._task)

    def emitted(self) -> list[Event]:
        """A copy of the events emitted so far (this attempt's, from its first seq)."""
        return self._emitter.events

    @property
    def first_seq(self) -> int:
        """The seq this attempt's events start at (earlier ones belong to an earlier attempt)."""
        return self._emitter.first_seq

    def suspend(self) -> None:
        """Stop the run at once without ending it: no terminal event is emitted, so a later
        attempt resumes it from its completed rounds (a graceful shutdown does this)."""
        if not self._task.done():
            self._task.cancel()

    def cancel(self) -> None:
        """Ask the run to stop now; it ends with a `CancelledEvent` carrying the best answer."""
        if not self._task.done():
            self._on_cancel()

    @property
    def done(self) -> bool:
        return self._task.done()
