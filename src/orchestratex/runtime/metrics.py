"""Prometheus metrics fed by the event bus, in a registry of their own (one per service).

Runs started and ended (by status), runs in progress, model calls (by model, purpose and
outcome), tokens, cost and call latency. Only events are read: adding metrics never touches the
engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from orchestratex.core.events import (
    CancelledEvent,
    CompletedEvent,
    Event,
    FailedEvent,
    ModelCallEvent,
    StartedEvent,
)
from orchestratex.runtime.bus import EventBus, SubscriberLagged, Subscription

log = logging.getLogger(__name__)

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True, slots=True)
class _CallSeries:
    """The labelled series one kind of model call (model, purpose, outcome) counts in."""

    calls: Counter
    input_tokens: Counter
    output_tokens: Counter
    cost: Counter
    latency: Histogram


class RunMetrics:
    """The collectors, and `observe` that updates them from one event."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.runs_started = Counter("orchestratex_runs_started", "Runs started.", registry=reg)
        self.runs = Counter(
            "orchestratex_runs", "Runs ended, by final status.", ["status"], registry=reg
        )
        self.active_runs = Gauge(
            "orchestratex_active_runs", "Runs in progress in this process.", registry=reg
        )
        self.model_calls = Counter(
            "orchestratex_model_calls",
            "Calls to models, by model, purpose and outcome (success or error).",
            ["model", "purpose", "outcome"],
            registry=reg,
        )
        self.tokens = Counter(
            "orchestratex_tokens",
            "Tokens used by model calls, by model and direction (input or output).",
            ["model", "direction"],
            registry=reg,
        )
        self.cost = Counter(
            "orchestratex_cost_usd", "Cost of model calls in US dollars.", ["model"], registry=reg
        )
        self.call_latency = Histogram(
            "orchestratex_model_call_latency_seconds",
            "Latency of model calls, by model and purpose.",
            ["model", "purpose"],
            buckets=LATENCY_BUCKETS_S,
            registry=reg,
        )
        self._active: set[str] = set()
        self._call_series: dict[tuple[str, str, bool], _CallSeries] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    def observe(self, event: Event) -> None:
        if isinstance(event, StartedEvent):
            self.runs_started.inc()
            self._active.add(event.thread_id)
        elif isinstance(event, CompletedEvent | FailedEvent | CancelledEvent):
            self.runs.labels(status=event.type).inc()
            self._active.discard(event.thread_id)
        elif isinstance(event, ModelCallEvent):
            series = self._series(event.model, event.purpose, event.success)
            series.calls.inc()
            series.input_tokens.inc(event.usage.input_tokens)
            series.output_tokens.inc(event.usage.output_tokens)
            series.cost.inc(max(event.cost_usd, 0.0))
            series.latency.observe(max(event.latency_ms, 0.0) / 1000.0)
        else:
            return
        self.active_runs.set(len(self._active))

    def _series(self, model: str, purpose: str, success: bool) -> _CallSeries:
        """The labelled series a call of `model` for `purpose` counts in (`labels` validates
        and locks on each look-up, so each set is looked up once)."""
        key = (model, purpose, success)
        series = self._call_series.get(key)
        if series is None:
            series = self._call_series[key] = _CallSeries(
                calls=self.model_calls.labels(model, purpose, "success" if success else "error"),
                input_tokens=self.tokens.labels(model, "input"),
                output_tokens=self.tokens.labels(model, "output"),
                cost=self.cost.labels(model),
                latency=self.call_latency.labels(model, purpose),
            )
        return series

    def render(self) -> bytes:
        """The registry in the Prometheus text format, counting events still queued first."""
        subscription = self._subscription
        if subscription is not None:
            while not subscription.queue.empty():
                event = subscription.queue.get_nowait()
                if event is None:
                    subscription.queue.put_nowait(None)
                    break
                self.observe(event)
        return generate_latest(self.registry)

    def follow(self, bus: EventBus) -> None:
        """Observe every event published on `bus` from now on, until `stop()` or the bus closes."""
        if self._task is not None:
            raise RuntimeError("these metrics already follow a bus")
        subscription = self._subscription = bus.subscribe()

        async def consume() -> None:
            try:
                async for event in subscription:
                    self.observe(event)
            except SubscriberLagged:
                log.warning("metrics fell behind the event bus and stopped counting")
            finally:
                bus.unsubscribe(subscription)
                self._subscription = None

        self._task = asyncio.create_task(consume(), name="orchestratex-metrics")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
