"""`orchestratex health` and `orchestratex analytics`, in process and against a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from orchestratex.cli.main import app
from orchestratex.store.views import Dashboard
from tests.cli.conftest import RunningServer

PROMPT = "Prove that the square root of two is irrational"


def _json(args: list[str]) -> Any:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_health_in_process_knows_configuration_only(local_env: Path) -> None:
    report = _json(["health", "--json"])
    assert report["source"] == "local" and "no calls yet" in report["note"]
    models = {m["key"]: m for m in report["models"]}
    assert (
        models["fake-gpt"]["configured"] is True and models["fake-gpt"]["provider"] == "fake-openai"
    )
    assert models["fake-gpt"]["health"]["recent_calls"] == 0
    assert models["gpt-4o"]["enabled"] is False
    table = CliRunner().invoke(app, ["health"])
    assert table.exit_code == 0
    assert "fake-claude" in table.stdout and "no calls yet" in table.stdout


def test_health_probe_in_process(local_env: Path) -> None:
    report = _json(["health", "--json", "--probe"])
    assert report["probe"]["ok"] is True
    assert {c["provider"] for c in report["probe"]["providers"]} == {
        "fake-openai",
        "fake-anthropic",
    }


def test_health_from_server_shows_live_figures(server: RunningServer) -> None:
    ran = CliRunner().invoke(
        app,
        [
            "ask",
            "--server",
            server.url,
            "--json",
            "--model",
            "fake-qwen",
            "--max-rounds",
            "1",
            PROMPT,
        ],
    )
    assert ran.exit_code == 0, ran.output
    report = _json(["health", "--server", server.url, "--json", "--probe"])
    assert report["source"] == server.url and report["auth"] == "open"
    qwen = next(m for m in report["models"] if m["key"] == "fake-qwen")
    assert qwen["health"]["recent_calls"] >= 1 and qwen["health"]["circuit"] == "closed"
    assert report["probe"]["ok"] is True
    table = CliRunner().invoke(app, ["health", "--server", server.url])
    assert "100% of" in table.stdout


def test_analytics_after_a_local_run(local_env: Path) -> None:
    empty = CliRunner().invoke(app, ["analytics"])
    assert empty.exit_code == 0 and "no runs recorded" in empty.stdout
    ran = CliRunner().invoke(app, ["ask", "--json", "--max-rounds", "2", PROMPT])
    assert ran.exit_code == 0, ran.output
    report = Dashboard.model_validate(_json(["analytics", "--json", "--period", "hour"]))
    assert report.usage.threads == 1 and report.usage.threads_by_status == {"completed": 1}
    assert report.usage.calls >= 3 and report.costs.total_cost_usd > 0
    assert report.costs.bucket == "hour" and len(report.costs.by_bucket) == 1
    assert any(row.rounds >= 1 and row.mean_score is not None for row in report.models)
    assert report.selection.decisions == 1
    tables = CliRunner().invoke(app, ["analytics"])
    for title in (
        "Model performance",
        "Costs by model",
        "Costs by day",
        "Selection accuracy",
        "Usage",
    ):
        assert title in tables.stdout
    later = _json(["analytics", "--json", "--since", "2999-01-01"])
    assert later["usage"]["threads"] == 0


def test_analytics_from_server(server: RunningServer) -> None:
    ran = CliRunner().invoke(
        app, ["ask", "--server", server.url, "--json", "--max-rounds", "1", PROMPT]
    )
    assert ran.exit_code == 0, ran.output
    report = Dashboard.model_validate(_json(["analytics", "--server", server.url, "--json"]))
    assert report.usage.threads == 1 and report.costs.total_cost_usd > 0
    bad = CliRunner().invoke(app, ["analytics", "--since", "2025-02-01", "--until", "2025-01-01"])
    assert bad.exit_code == 2
