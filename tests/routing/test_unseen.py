"""Repeated leave-subjects-out: draws are seeded and distinct, held-out subjects never train."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_unseen import BAR, leave_subjects_out, subject_draws
from orchestratex.cli.main import app
from tests.routing.test_cli import EASY, HARD, _write_csv, fake_data

runner = CliRunner()


def _items() -> list[RoutingItem]:
    """Eight subjects; the share of prompts the strong model wins grows with the subject."""
    out: list[RoutingItem] = []
    for s in range(8):
        for i in range(40):
            hard = i % 8 < s
            prompt = f"s{s} q{i} {'hard' if hard else 'easy'}"
            out.append(RoutingItem("mmlu", prompt, 1.0, 0.0 if hard else 1.0, f"subject{s}"))
    return out


def test_draws_are_seeded_distinct_and_sized() -> None:
    subjects = [f"s{i}" for i in range(10)]
    draws = subject_draws(subjects, 12, 3, seed=0)
    assert draws == subject_draws(subjects, 12, 3, seed=0)
    assert draws != subject_draws(subjects, 12, 3, seed=1)
    assert all(len(d) == len(set(d)) == 3 and set(d) <= set(subjects) for d in draws)
    assert len({tuple(d) for d in draws}) > 6
    with pytest.raises(ValueError, match="cannot hold out"):
        subject_draws(subjects, 1, 10, seed=0)


def test_held_out_subjects_never_train_and_figures_summarise_the_draws() -> None:
    items = _items()
    others = [RoutingItem("gsm8k", f"word problem {i}", 1.0, float(i % 2)) for i in range(10)]
    seen: list[tuple[set[str], set[str], int]] = []

    def scorer(train: Sequence[RoutingItem], test: Sequence[RoutingItem]) -> list[float]:
        seen.append(
            ({i.group for i in train}, {i.group for i in test}, sum(not i.group for i in train))
        )
        return [1.0 if "hard" in i.prompt else 0.0 for i in test]

    result = leave_subjects_out(items, others, scorer, draws=5, k=3, seed=0)
    assert len(seen) == 5
    assert all(not (tr & te) and len(te) == 3 and n == 10 for tr, te, n in seen)
    figures = [d.apgr for d in result.draws]
    assert result.worst_apgr == min(figures) and result.best_apgr == max(figures)
    assert result.mean_apgr == pytest.approx(sum(figures) / 5)
    assert result.mean_apgr > 0.75 and result.share_at_bar == 1.0 and result.sd_apgr >= 0.0
    # Knowing each subject's mean gain ranks subjects, not prompts: above random, below perfect.
    assert 0.5 < result.mean_subject_oracle_apgr < result.mean_apgr

    backwards = leave_subjects_out(
        items, others, lambda tr, te: [0.0 if "hard" in i.prompt else 1.0 for i in te], k=3
    )
    assert backwards.mean_apgr < 0.25 and backwards.share_at_bar == 0.0


def _subjects_data(root: Path) -> Path:
    """The CLI test data plus five more MMLU subjects (hard prompts in different shares)."""
    data = fake_data(root)
    rng = random.Random(1)
    for s in range(5):
        rows = []
        for i in range(40):
            hard = i % 5 <= s
            rows.append(((HARD if hard else EASY).format(i=i, r=rng.random()), not hard, True))
        _write_csv(data / "mmlu" / "responses" / f"mmlu_subject{s}.csv", rows)
    return data


def test_cli_reports_every_draw_as_json(tmp_path: Path) -> None:
    data = _subjects_data(tmp_path / "data")
    args = ["bench", "routing-unseen", "--data", str(data), "--no-embeddings"]
    result = runner.invoke(app, [*args, "--draws", "3", "--held-out", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["held_out"] == 2 and len(report["draws"]) == 3 and report["bar"] == BAR
    assert all(len(d["subjects"]) == 2 and d["setting"] for d in report["draws"])
    assert report["mean_apgr"] > 0.6
    text = runner.invoke(app, [*args, "--draws", "2", "--held-out", "2"])
    assert text.exit_code == 0 and "draws of 2 held-out MMLU subjects" in text.output
    too_many = runner.invoke(app, [*args, "--held-out", "6"])
    assert too_many.exit_code == 2 and "cannot hold out 6 of 6" in too_many.output
    missing = runner.invoke(app, ["bench", "routing-unseen", "--data", str(tmp_path / "none")])
    assert missing.exit_code == 2
