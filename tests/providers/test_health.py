"""Recent health: outcomes count for a bounded time, and only an open circuit makes a model
unselectable (a clock moved by hand; no sleeping)."""

from __future__ import annotations

from orchestratex.core.performance import HEALTH_FLOOR
from orchestratex.providers.breaker import BreakerView
from orchestratex.providers.health import HealthTracker

CLOSED = BreakerView(state="closed", calls=0, failures=0, retry_in_s=None)


def test_failures_older_than_the_horizon_are_forgotten() -> None:
    now = [1000.0]
    tracker = HealthTracker(window=50, horizon_s=300.0, clock=lambda: now[0])
    for _ in range(3):
        tracker.record_failure("m", "server_error")
    failing = tracker.snapshot("m", "p", CLOSED, configured=True)
    assert failing.recent_calls == 3 and failing.recent_success_rate == 0.0
    assert failing.score == HEALTH_FLOOR, "ranked down, not excluded: the circuit is closed"

    now[0] += 200.0
    tracker.record_success("m", 120.0)
    mixed = tracker.snapshot("m", "p", CLOSED, configured=True)
    assert mixed.recent_calls == 4 and mixed.recent_success_rate == 0.25
    assert mixed.latency_p50_ms == 120.0

    now[0] += 150.0  # the failures are 350 s old, the success 150 s
    later = tracker.snapshot("m", "p", CLOSED, configured=True)
    assert later.recent_calls == 1 and later.recent_success_rate == 1.0
    assert later.last_error == "server_error"

    now[0] += 301.0
    idle = tracker.snapshot("m", "p", CLOSED, configured=True)
    assert idle.recent_calls == 0 and idle.latency_p50_ms is None and idle.score == 1.0


def test_an_open_circuit_alone_scores_zero() -> None:
    tracker = HealthTracker(clock=lambda: 0.0)
    tracker.record_failure("m", "timeout")
    opened = BreakerView(state="open", calls=10, failures=10, retry_in_s=12.0)
    assert tracker.snapshot("m", "p", opened, configured=True).score == 0.0
    half = BreakerView(state="half_open", calls=0, failures=0, retry_in_s=None)
    assert tracker.snapshot("m", "p", half, configured=True).score == HEALTH_FLOOR * 0.5
    assert tracker.snapshot("m", "p", CLOSED, configured=False).score == 0.0
