"""Rolling per-model success rate and latency, reported as core.performance.ModelHealth."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from orchestratex.core.performance import ModelHealth
from orchestratex.providers.breaker import BreakerView


@dataclass
class _Window:
    outcomes: deque[bool]
    latencies_ms: deque[float]
    last_error: str | None = field(default=None)


class HealthTracker:
    """Remembers the last `window` call outcomes per model (latency from successes only)."""

    def __init__(self, window: int = 50) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self._window = window
        self._models: dict[str, _Window] = {}

    def _get(self, model: str) -> _Window:
        w = self._models.get(model)
        if w is None:
            w = _Window(deque(maxlen=self._window), deque(maxlen=self._window))
            self._models[model] = w
        return w

    def record_success(self, model: str, latency_ms: float) -> None:
        w = self._get(model)
        w.outcomes.append(True)
        w.latencies_ms.append(latency_ms)

    def record_failure(self, model: str, error: str) -> None:
        w = self._get(model)
        w.outcomes.append(False)
        w.last_error = error

    def snapshot(
        self, model: str, provider: str, breaker: BreakerView, *, configured: bool
    ) -> ModelHealth:
        w = self._models.get(model)
        return ModelHealth(
            model=model,
            provider=provider,
            circuit=breaker.state,
            circuit_calls=breaker.calls,
            circuit_failures=breaker.failures,
            circuit_retry_in_s=breaker.retry_in_s,
            recent_success_rate=sum(w.outcomes) / len(w.outcomes) if w and w.outcomes else 1.0,
            recent_calls=len(w.outcomes) if w else 0,
            latency_p50_ms=statistics.median(w.latencies_ms) if w and w.latencies_ms else None,
            configured=configured,
            last_error=w.last_error if w else None,
        )
