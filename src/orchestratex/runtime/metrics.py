"""Prometheus metrics fed by the event bus, in a registry of their own (one per service).

Runs started and ended (by status), runs in progress, model calls (by model, purpose and
outcome), tokens, cost and call latency. Only events are read: adding metrics never touches the
engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
            outcome = "success" if event.success else "error"
            self.model_calls.labels(event.model, event.purpose, outcome).inc()
            self.tokens.labels(event.model, "input").inc(event.usage.input_tokens)
            self.tokens.labels(event.model, "output").inc(event.usage.output_tokens)
            self.cost.labels(event.model).inc(max(event.cost_usd, 0.0))
            self.call_latency.labels(event.model, event.purpose).observe(
                max(event.latency_ms, 0.0) / 1000.0
            )
        else:
            return
        self.active_runs.set(len(self._active))

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
