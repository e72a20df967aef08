"""The event writer: events are buffered and written in batches by one task.

`EventWriter.add` never waits: it appends the event to an in-memory queue. One task (the only
writer of the process, which on SQLite with WAL avoids lock fights) takes up to `max_batch`
queued events at a time and writes them in one transaction (batch.py): at most
`flush_interval_s` (50 ms) after the oldest was added, and at once when a round ends (a
`response` or `evaluation` event), a run ends (completed, failed, cancelled), or someone calls
`flush`. Every event is stored, response chunks included; rewriting a stored event changes
nothing.

A run that is `hold`-ed (a passthrough: one round, no judge) is not written piece by piece: its
events wait in memory (`buffered` has them) until its end, then join the queue together, to be
written within `held_interval_s` (0.25 s) and without asking for a write at once, so that the
batch holds the run whole (whole_runs.py writes it directly) and the passthroughs that end
within that time share one transaction. A crash loses at most that interval of finished
passthroughs. `flush` of such a run writes it at once.

A batch that fails is retried with backoff, for as long as the database does not answer. When
the database answers and the batch still fails, it is written thread by thread, then event by
event, so one bad event costs only itself (it is logged and dropped); the others are kept.

Each batch is one transaction of the store's writes (writes.py): on SQLite the one writer task
performs it, between the other writes of the process, never beside them.

`StoreWriter` is the older interface: one awaited write per event, through the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from itertools import count

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from orchestratex.core.events import TERMINAL_TYPES, Event
from orchestratex.store.batch import apply_batch
from orchestratex.store.db import SessionFactory
from orchestratex.store.writes import Writes, as_writes

log = logging.getLogger(__name__)

BOUNDARY_TYPES = frozenset({"response", "evaluation", "completed", "failed", "cancelled"})
"""Events after which the buffer is written at once: a round or a run ends."""
ATTEMPTS_BEFORE_SPLIT = 3
MAX_BACKOFF_S = 2.0
LOCK_RETRIES = 6


def _backoff(attempt: int) -> float:
    return float(min(MAX_BACKOFF_S, 0.02 * 2**attempt))


def _describe(exc: BaseException) -> str:
    """The error without the statement's parameters (they hold prompts and answers)."""
    reason = getattr(exc, "orig", None) or exc
    return f"{type(exc).__name__}: {str(reason).splitlines()[0][:200] if str(reason) else ''}"


async def write_events(writes: Writes, events: Sequence[Event]) -> list[Event]:
    """Write the events in one transaction; returns those that were not stored yet."""
    return await writes.run(lambda session: apply_batch(session, events))


class EventWriter:
    """Buffers events per thread and writes them in batches from one task."""

    def __init__(
        self,
        writes: Writes | SessionFactory,
        *,
        flush_interval_s: float = 0.05,
        held_interval_s: float = 0.25,
        max_batch: int = 1000,
    ) -> None:
        self._writes = as_writes(writes)
        self._interval = flush_interval_s
        self._held_interval = held_interval_s
        self._due = float("inf")
        """When the earliest queued event is due to be written."""
        self._max_batch = max(1, max_batch)
        self._queue: deque[tuple[int, float, Event]] = deque()
        self._unsaved: dict[str, dict[int, Event]] = {}
        self._last_index: dict[str, int] = {}
        self._holding: dict[str, list[Event]] = {}
        self._numbers = count(1)
        self._added = 0
        self._done = 0
        self._urgent_upto = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._has_work = asyncio.Event()
        self._kick = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        """Events given up on because the database refused them while it was answering."""

    async def start(self) -> None:
        """Start the writer task (again, after `aclose`); a no-op while it runs."""
        if self._task is None or self._task.done():
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="orchestratex-event-writer")
            self._task.add_done_callback(self._stopped)

    def hold(self, thread_id: str) -> None:
        """Keep the thread's events in memory until its terminal event, then queue them all,
        with no write asked for at once (see the module's docstring)."""
        self._holding.setdefault(thread_id, [])

    def add(self, event: Event) -> None:
        """Queue the event; never waits. A (thread, seq) already waiting is ignored."""
        pending = self._unsaved.setdefault(event.thread_id, {})
        if event.seq in pending:
            return
        pending[event.seq] = event
        held = self._holding.get(event.thread_id)
        if held is not None:
            held.append(event)
            if event.type in TERMINAL_TYPES:
                self._release(event.thread_id, urgent=False)
            return
        self._enqueue(event, urgent=event.type in BOUNDARY_TYPES)
        self._has_work.set()

    def _enqueue(self, event: Event, *, urgent: bool, interval: float | None = None) -> None:
        index = next(self._numbers)
        self._added = index
        self._last_index[event.thread_id] = index
        due = time.monotonic() + (self._interval if interval is None else interval)
        if due < self._due:
            self._due = due
            self._kick.set()  # a lingering writer recomputes its wait
        self._queue.append((index, due, event))
        if urgent or len(self._queue) >= self._max_batch:
            self._urgent_upto = index
            self._kick.set()

    def _release(self, thread_id: str, *, urgent: bool) -> None:
        """Queue a held thread's events (they stop being held)."""
        events = self._holding.pop(thread_id, [])
        for event in events:
            self._enqueue(event, urgent=urgent, interval=self._held_interval)
        if events:
            self._has_work.set()

    def buffered(self, thread_id: str, after_seq: int = 0) -> list[Event]:
        """Events added and not yet committed, seq > after_seq, in seq order.

        A follower misses nothing if it subscribes to live events first, then takes this
        snapshot, then reads the store: an event left the buffer only once it was committed,
        so the store read (which comes after) sees it. Merge the three by seq.
        """
        pending = self._unsaved.get(thread_id, {})
        return [pending[seq] for seq in sorted(pending) if seq > after_seq]

    async def flush(self, thread_id: str | None = None) -> None:
        """Return once everything added before the call (of `thread_id`, if given) is committed
        (or, refused by the database, dropped and logged)."""
        await self._wait(thread_id, urgent=True)

    async def settled(self, thread_id: str) -> None:
        """Return once the thread's events added so far are committed, without asking for a
        write sooner than the writer's own pace (a held thread is released)."""
        await self._wait(thread_id, urgent=False)

    async def _wait(self, thread_id: str | None, *, urgent: bool) -> None:
        for held in [thread_id] if thread_id is not None else list(self._holding):
            if held in self._holding:
                self._release(held, urgent=urgent)
        target = self._added if thread_id is None else self._last_index.get(thread_id, 0)
        if target <= self._done:
            return
        if self._task is None or self._task.done():
            raise RuntimeError("the event writer is not running (call start())")
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        if urgent:
            self._urgent_upto = max(self._urgent_upto, target)
            self._kick.set()
        self._has_work.set()
        await asyncio.shield(waiter)

    async def aclose(self) -> None:
        """Write everything queued, then stop the task: a clean stop loses nothing."""
        await self.start()
        for thread_id in list(self._holding):
            self._release(thread_id, urgent=True)
        self._closing = True
        self._kick.set()
        self._has_work.set()
        assert self._task is not None
        await asyncio.shield(self._task)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("the event writer stopped: %s", _describe(error))
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError("the event writer stopped"))
        self._waiters.clear()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._has_work.clear()
                await self._has_work.wait()
                continue
            await self._linger()
            batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
            self._due = min((due for _, due, _ in self._queue), default=float("inf"))
            await self._persist([event for _, _, event in batch])
            self._settle(batch[-1][0], [event for _, _, event in batch])

    async def _linger(self) -> None:
        """Wait until the earliest queued event is due, unless a write is wanted now."""
        while not self._closing and self._urgent_upto <= self._done:
            remaining = self._due - time.monotonic()
            if remaining <= 0 or len(self._queue) >= self._max_batch:
                return
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._kick.wait()

    def _settle(self, done: int, events: list[Event]) -> None:
        self._done = done
        for event in events:
            pending = self._unsaved.get(event.thread_id)
            if pending is not None:
                pending.pop(event.seq, None)
                if not pending:
                    del self._unsaved[event.thread_id]
            if self._last_index.get(event.thread_id, 0) <= done:
                self._last_index.pop(event.thread_id, None)
        still: list[tuple[int, asyncio.Future[None]]] = []
        for target, waiter in self._waiters:
            if target <= done:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((target, waiter))
        self._waiters = still

    async def _persist(self, events: list[Event], level: int = 0) -> None:
        """Write the events, retrying; split them (by thread, then one by one) when the database
        answers but refuses them, and drop a single event it keeps refusing."""
        attempt = 0
        while True:
            try:
                await write_events(self._writes, events)
                return
            except Exception as exc:
                attempt += 1
                first = events[0]
                log.warning(
                    "writing %d event(s) failed (thread %s, seq %d, attempt %d): %s",
                    len(events),
                    first.thread_id,
                    first.seq,
                    attempt,
                    _describe(exc),
                )
            if attempt >= ATTEMPTS_BEFORE_SPLIT and await self._database_answers():
                break
            await asyncio.sleep(_backoff(attempt))
        if level == 0 and len({e.thread_id for e in events}) > 1:
            for thread_id in dict.fromkeys(e.thread_id for e in events):
                await self._persist([e for e in events if e.thread_id == thread_id], 1)
        elif len(events) > 1:
            for event in events:
                await self._persist([event], 2)
        else:
            self.dropped += 1
            log.error(
                "dropped event %s seq %d (%s): the database refuses it",
                events[0].thread_id,
                events[0].seq,
                events[0].type,
            )

    async def _database_answers(self) -> bool:
        try:
            await self._writes.run(lambda session: session.execute(text("SELECT 1")))
        except Exception:
            return False
        return True


def _is_lock_error(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


class StoreWriter:
    """One awaited write per event (the interface before EventWriter): subscribe `handle`.

    Response chunks wait in memory and are written with the thread's next other event (its
    round's `response`, or the run's end), in the same transaction: once `handle` returns for
    a non-chunk event, it and everything before it in the thread are stored.
    """

    def __init__(self, writes: Writes | SessionFactory) -> None:
        self._writes = as_writes(writes)
        self._lock = asyncio.Lock()
        self._chunks: dict[str, list[Event]] = {}

    def buffered(self, thread_id: str, after_seq: int = 0) -> list[Event]:
        """Chunks handled and not yet stored, seq > after_seq, in order."""
        return sorted(
            (e for e in self._chunks.get(thread_id, []) if e.seq > after_seq),
            key=lambda e: e.seq,
        )

    async def handle(self, event: Event) -> None:
        if event.type == "response_chunk":
            self._chunks.setdefault(event.thread_id, []).append(event)
            return
        batch = [*self._chunks.pop(event.thread_id, []), event]
        try:
            await self._write(batch)
        except BaseException:
            self._chunks[event.thread_id] = batch[:-1] + self._chunks.get(event.thread_id, [])
            raise

    async def _write(self, batch: list[Event]) -> None:
        async with self._lock:
            for attempt in range(LOCK_RETRIES):
                try:
                    await write_events(self._writes, batch)
                    return
                except OperationalError as exc:
                    # SQLite refuses a write whose snapshot another connection has overtaken.
                    if not _is_lock_error(exc) or attempt == LOCK_RETRIES - 1:
                        raise
                    await asyncio.sleep(0.02 * 2**attempt)
