"""The cascade: escalating exactly the weak model's failures recovers the whole gap."""

from __future__ import annotations

from orchestratex.bench.routing_cascade import cascade_curve, format_cascade, measure
from orchestratex.bench.routing_data import RoutingItem


def test_escalating_on_a_perfect_verdict_recovers_the_gap_cheaply() -> None:
    items = [RoutingItem("gsm8k", f"q{i}", 1.0, 1.0 if i % 4 else 0.0) for i in range(40)]
    result = measure(items, [it.weak for it in items], "reference label")
    assert result.escalated_at_80 == 0.25 and result.apgr > 0.8
    curve = cascade_curve(items, [it.weak for it in items])
    assert curve[0].strong_share == 0.0 and curve[-1].strong_share == 1.0
    assert "APGR" in format_cascade([result])


def test_an_uninformative_verdict_is_no_better_than_random() -> None:
    items = [RoutingItem("gsm8k", f"q{i}", 1.0, float(i % 2)) for i in range(40)]
    result = measure(items, [0.5] * len(items), "constant")
    assert abs(result.apgr - 0.5) < 1e-9
