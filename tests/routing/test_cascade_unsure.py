"""Start cheap when unsure, offline: the policies' cost and quality on synthetic verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.bench.cascade_unsure import (
    Scored,
    UnsureReport,
    format_unsure,
    measure_benchmark,
    policy_points,
    prompt_costs,
)
from orchestratex.bench.routing_data import RoutingItem
from orchestratex.cli.main import app
from tests.routing.test_cli import fake_data


def _scored(n: int = 40, unknown: int | None = 7) -> list[Scored]:
    """GSM8K-like: the strong model always right, the weak one wrong on every fourth prompt;
    the router's score rises with the prompt's index, and one prompt is unknown."""
    out = []
    for i in range(n):
        text = f"question number {i} " * (1 + i % 3)
        item = RoutingItem("gsm8k", text, 1.0, 0.0 if i % 4 == 0 else 1.0)
        out.append(Scored(item, score=(i + 0.5) / n, known=i != unknown))
    return out


def test_band_zero_is_the_router_and_a_band_over_everything_is_weak_first() -> None:
    known = _scored(unknown=None)
    report = measure_benchmark(known, bands=(0.0,))
    assert all(row.cascade["0.00"] == row.router for row in report.rows)
    assert report.rows[0].router == report.always_strong  # the lowest threshold: all strong
    assert report.rows[-1].router == report.always_weak  # above the top score: none
    everything, unsure = policy_points(_scored(), 0.5, 0.5)
    assert unsure == 1.0 and everything == report.weak_first_all
    assert report.weak_first_all.quality == 1.0  # a perfect verdict escalates every failure
    assert report.weak_first_all.strong_share == 0.25
    assert report.weak_first_all.judged_per_prompt == 1.25
    assert measure_benchmark(_scored()).unknown_share == pytest.approx(1 / 40)


def test_unsure_prompts_start_weak_and_escalate_on_the_verdict() -> None:
    scored = _scored()
    router, _ = policy_points(scored, 0.5, None)
    cascade, unsure = policy_points(scored, 0.5, 0.1)
    # within 0.1 of 0.5: scores 0.4125 .. 0.5875 (i = 16..23), plus the unknown prompt (i = 7)
    unsure_rows = [i for i in range(40) if i == 7 or abs((i + 0.5) / 40 - 0.5) < 0.1]
    assert unsure == pytest.approx(len(unsure_rows) / 40) and len(unsure_rows) == 9
    c_strong, c_weak = prompt_costs([s.item for s in scored])
    expected = sum(
        (c_strong[i] if i >= 20 and i not in unsure_rows else c_weak[i])
        + (c_strong[i] if i in unsure_rows and i % 4 == 0 else 0.0)
        for i in range(40)
    )
    assert cascade.cost_usd == pytest.approx(expected / 40)
    # unsure prompts the weak model failed (i = 16, 20) escalate and end right; the unknown
    # one (i = 7, not failed) stays weak; router alone has i = 16 weak (wrong) and 20 strong
    assert cascade.quality == pytest.approx(router.quality + 1 / 40)
    assert cascade.judged_per_prompt == pytest.approx(1 + 2 / 40)


def test_report_and_table() -> None:
    report = measure_benchmark(_scored(), bands=(0.05, 0.1, 0.2))
    assert set(report.mean_gain) == {"0.05", "0.10", "0.20"}
    for row in report.rows:
        for key, gain in row.gain_at_equal_cost.items():
            cost = row.cascade[key].cost_usd
            inside = report.always_weak.cost_usd <= cost <= report.always_strong.cost_usd
            assert (gain is None) == (not inside)
    text = format_unsure(
        UnsureReport(seed=0, features="analysis", bands=[0.05, 0.1, 0.2], benchmarks=[report])
    )
    assert "| threshold | router $/prompt |" in text and "cascade band 0.10" in text
    assert "upper bound" in text


def test_cli_on_a_tiny_data_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    root = fake_data(tmp_path / "data")
    args = ["bench", "cascade-unsure", "--data", str(root), "--no-embeddings"]
    result = runner.invoke(app, [*args, "--json", "--band", "0.1", "--band", "0.3"])
    assert result.exit_code == 0, result.output
    report = UnsureReport.model_validate_json(result.output)
    assert [b.benchmark for b in report.benchmarks] == ["mt_bench", "gsm8k"]
    assert report.bands == [0.1, 0.3] and report.features == "analysis"
    for bench in report.benchmarks:
        assert bench.prompts == 59  # one of 60 is listed as contaminated
        assert all(set(row.cascade) == {"0.10", "0.30"} for row in bench.rows)
        assert bench.always_weak.quality < bench.always_strong.quality
    table = runner.invoke(app, [*args, "--show", "0.3"])
    assert table.exit_code == 0 and "cascade band 0.30" in table.output
    missing = runner.invoke(app, ["bench", "cascade-unsure", "--data", str(tmp_path / "none")])
    assert missing.exit_code == 2
