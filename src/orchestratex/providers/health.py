"""Rolling per-model success rate and latency, reported as core.performance.ModelHealth."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from orchestratex.core.performance import ModelHealth
from orchestratex.providers.breaker import CircuitState


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
        self, model: str, provider: str, *, circuit: CircuitState, configured: bool
    ) -> ModelHealth:
        w = self._models.get(model)
        if w is None or not w.outcomes:
            return ModelHealth(
                model=model, provider=provider, circuit=circuit, configured=configured
            )
        return ModelHealth(
            model=model,
            provider=provider,
            circuit=circuit,
            recent_success_rate=sum(w.outcomes) / len(w.outcomes),
            recent_calls=len(w.outcomes),
            latency_p50_ms=statistics.median(w.latencies_ms) if w.latencies_ms else None,
            configured=configured,
            last_error=w.last_error,
        )
