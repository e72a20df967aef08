"""The live-deployment replay: both deployments live the same stream; figures are consistent."""

from __future__ import annotations

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_replay import format_replay, run_replay
from tests.routing.test_cli import EASY, HARD


def _items(n: int = 160) -> list[RoutingItem]:
    """The strong model is needed on proofs; on greetings both models are right."""
    out = []
    for i in range(n):
        hard = i % 2 == 0
        prompt = (HARD if hard else EASY).format(i=i, r=i / n)
        out.append(RoutingItem("gsm8k", prompt, 1.0, 0.0 if hard else 1.0))
    return out


def test_replay_reports_quality_and_cost_per_cost_weight() -> None:
    report = run_replay(
        _items(), limit=120, retrain_every=20, min_history=10, cost_weights=(0.0, 0.5, 0.9)
    )
    assert report.prompts == 120 and len(report.priors) == len(report.learned) == 3
    for arm in (report.priors, report.learned):
        for point in arm:
            assert 0.0 <= point.mean_quality <= 10.0 and point.mean_cost_usd > 0.0
            assert 0.0 <= point.strong_share <= 1.0
    # At zero cost weight the priors always call the stronger model: quality 10 on every prompt.
    assert report.priors[0].strong_share == 1.0 and report.priors[0].mean_quality == 10.0
    # The learned deployment learns that greetings need no strong model: cheaper, same quality.
    best = report.learned[1]
    assert best.mean_cost_usd < report.priors[0].mean_cost_usd
    assert "Live-deployment replay: 120 prompts" in format_replay(report)
