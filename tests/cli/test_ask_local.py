"""`orchestratex ask` in process: a recorded run, live progress, JSON for scripts, usage errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.cli.main import app
from orchestratex.core.orchestration import OrchestrationResult
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.cli.conftest import interrupt_cli

PROMPT = "Write a Python function that reverses a string"


def test_ask_json_prints_only_the_completed_result(local_env: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "--json", "--max-rounds", "2", PROMPT])
    assert result.exit_code == 0, result.output
    parsed = OrchestrationResult.model_validate(json.loads(result.stdout))
    assert parsed.status == "completed"
    assert parsed.score is not None and 0.0 <= parsed.score <= 10.0
    assert parsed.total_cost_usd > 0
    assert len(parsed.rounds) == 2 and parsed.stop_reason == "max_rounds"
    assert parsed.analysis is not None and parsed.analysis.domain.value == "coding"
    # The fake provider's answers are labelled as such, on stderr so stdout stays pure JSON.
    assert "fake provider" in result.stderr
    # The run is recorded in the local store like any other.
    assert (local_env / "orchestratex.db").is_file()


def test_ask_shows_progress_and_the_final_answer(local_env: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "--threshold", "7.5", PROMPT])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Analysis  domain coding · complexity" in out
    assert "Model     fake-" in out
    assert "judge fake-" in out and "/10" in out
    assert "round 1 score 5.0/10" in out and "round 2 score 6.5/10" in out
    assert "Answer (round 3, fake-" in out
    assert "completed: score 8.0/10 · rounds 3 (best 3) · stop threshold · total cost $" in out
    assert "answers come from the fake provider (a test tool, not a model)" in out


def test_forced_model_and_weights_reach_the_run(local_env: Path) -> None:
    args = ["ask", "--json", "--max-rounds", "1", "--model", "fake-llama"]
    args += ["--cost-weight", "0.9", "--quality-weight", "0.1", "--budget", "1", PROMPT]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    parsed = OrchestrationResult.model_validate(json.loads(result.stdout))
    assert parsed.rounds[0].model == "fake-llama"


def test_bad_values_are_usage_errors(local_env: Path) -> None:
    runner = CliRunner()
    for args in (
        ["ask", "--threshold", "11", PROMPT],
        ["ask", "--max-rounds", "0", PROMPT],
        ["ask", "--budget", "0", PROMPT],
        ["ask", "   "],
        ["analytics", "--period", "month"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_unknown_model_is_one_line(local_env: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "--model", "no-such-model", PROMPT])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-model" in lines[0]
    assert "Traceback" not in result.output


def test_missing_config_file_is_one_line(local_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORX_CONFIG", str(local_env / "missing.yaml"))
    result = CliRunner().invoke(app, ["ask", PROMPT])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("configuration error: ORX_CONFIG points at")
    assert "Traceback" not in result.output


def test_ctrl_c_cancels_the_local_run(
    local_env: Path, fake: FakeProviderServer, tmp_path: Path
) -> None:
    fake.options.latency_ms = 3000
    ended = interrupt_cli(["ask", PROMPT], env=dict(os.environ), cwd=tmp_path)
    assert ended.returncode == 130, ended
    assert "cancelling the run" in ended.stdout and "cancelled: " in ended.stdout
    assert "Traceback" not in ended.stderr
    fake.options.latency_ms = 0
    report = json.loads(CliRunner().invoke(app, ["analytics", "--json"]).stdout)
    assert report["usage"]["threads_by_status"] == {"cancelled": 1}
