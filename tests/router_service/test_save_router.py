"""`orchestratex bench routing --save-router FILE` writes the router the service would train."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from orchestratex.bench.router_io import load
from orchestratex.bench.routing_bench import train_on_split
from orchestratex.cli.main import app
from orchestratex.engine.embeddings import default_embedder
from tests.routing.test_cli import EASY, HARD, fake_data


def test_save_router_writes_the_training_split_router(tmp_path: Path) -> None:
    data = fake_data(tmp_path / "data")
    out = tmp_path / "out" / "router.json"
    result = CliRunner().invoke(
        app, ["bench", "routing", "--data", str(data), "--seed", "3", "--save-router", str(out)]
    )
    assert result.exit_code == 0, result.output
    saved = load(out)
    expected, size = train_on_split(data, seed=3, embedder=default_embedder())
    assert saved.to_dict() == expected.to_dict()
    assert f"trained on {size} prompts" in result.output
    hard, easy = HARD.format(i=7, r=0.5), EASY.format(i=8, r=0.5)
    assert saved.strong_score(hard) > saved.strong_score(easy)
