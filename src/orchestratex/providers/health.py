"""Rolling per-model success rate and latency, reported as core.performance.ModelHealth.

"Recent" is the last `window` calls of the last `horizon_s` seconds: a model that failed and was
then left alone (selection ranks it down) is judged afresh once its failures are that old, so
one bad minute does not rank it down for the life of the process. Whether a model is down, and
so not selectable at all, is its circuit breaker's decision alone (providers/breaker.py).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestratex.core.performance import ModelHealth
from orchestratex.providers.breaker import BreakerView

HEALTH_HORIZON_S = 300.0
"""How long a call outcome counts towards a model's recent success rate and latency."""


@dataclass
class _Window:
    outcomes: deque[tuple[float, bool]]
    latencies_ms: deque[tuple[float, float]]
    last_error: str | None = field(default=None)

    def forget_before(self, oldest: float) -> None:
        for kept in (self.outcomes, self.latencies_ms):
            while kept and kept[0][0] < oldest:
                kept.popleft()


class HealthTracker:
    """Remembers per model the outcomes of its last `window` calls within `horizon_s` seconds
    (latency from successes only)."""

    def __init__(
        self,
        window: int = 50,
        *,
        horizon_s: float = HEALTH_HORIZON_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window < 1 or horizon_s <= 0:
            raise ValueError("window must be >= 1 and horizon_s > 0")
        self._window = window
        self._horizon_s = horizon_s
        self._clock = clock
        self._models: dict[str, _Window] = {}

    def _get(self, model: str) -> _Window:
        w = self._models.get(model)
        if w is None:
            w = _Window(deque(maxlen=self._window), deque(maxlen=self._window))
            self._models[model] = w
        return w

    def record_success(self, model: str, latency_ms: float) -> None:
        w = self._get(model)
        now = self._clock()
        w.outcomes.append((now, True))
        w.latencies_ms.append((now, latency_ms))

    def record_failure(self, model: str, error: str) -> None:
        w = self._get(model)
        w.outcomes.append((self._clock(), False))
        w.last_error = error

    def snapshot(
        self, model: str, provider: str, breaker: BreakerView, *, configured: bool
    ) -> ModelHealth:
        w = self._models.get(model)
        if w is not None:
            w.forget_before(self._clock() - self._horizon_s)
        return ModelHealth(
            model=model,
            provider=provider,
            circuit=breaker.state,
            circuit_calls=breaker.calls,
            circuit_failures=breaker.failures,
            circuit_retry_in_s=breaker.retry_in_s,
            recent_success_rate=sum(ok for _, ok in w.outcomes) / len(w.outcomes)
            if w and w.outcomes
            else 1.0,
            recent_calls=len(w.outcomes) if w else 0,
            latency_p50_ms=statistics.median(ms for _, ms in w.latencies_ms)
            if w and w.latencies_ms
            else None,
            configured=configured,
            last_error=w.last_error if w else None,
        )
