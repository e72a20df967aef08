"""Run-time state shared by the routes: options, counters, fault RNG, closing flag."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from orchestratex.testing.fake_provider.faults import FaultPicker
from orchestratex.testing.fake_provider.options import FakeProviderOptions, FakeStats, InjectedFault

MAX_RECORDED_REQUESTS = 200
"""Completion request bodies kept for inspection (the oldest are dropped first)."""


class FakeState:
    """Mutable state of one fake provider server."""

    def __init__(self, options: FakeProviderOptions) -> None:
        self.options = options
        self.stats = FakeStats()
        self.requests: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED_REQUESTS)
        """The latest completion requests as received: {"path", "body"}, oldest first."""
        self.closing = asyncio.Event()
        self._picker = FaultPicker()

    def reset_stats(self) -> None:
        """Start counting afresh (requests still running stay counted as in flight)."""
        running = self.stats.in_flight
        self.stats = FakeStats(in_flight=running, max_in_flight=running)
        self.requests.clear()

    def request_started(self, path: str) -> None:
        stats = self.stats
        stats.requests_total += 1
        stats.by_path[path] = stats.by_path.get(path, 0) + 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)

    def request_finished(self) -> None:
        self.stats.in_flight = max(0, self.stats.in_flight - 1)

    def completion_seen(self, model: str, path: str = "", body: object = None) -> None:
        self.requests.append({"path": path, "body": body})
        stats = self.stats
        stats.by_model[model] = stats.by_model.get(model, 0) + 1
        stats.request_times.setdefault(model, []).append(time.monotonic())

    def choose_fault(self, model: str) -> InjectedFault | None:
        """The fault for this request: "down" for a down model, a drawn FaultKind, or None."""
        fault: InjectedFault | None = "down" if "down" in model else self._picker.pick(self.options)
        if fault is not None:
            self.stats.faults[fault] = self.stats.faults.get(fault, 0) + 1
        return fault
