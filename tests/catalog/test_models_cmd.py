"""`orchestratex models`: the table and the JSON, and key values that never appear."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestratex.cli.main import app
from tests.catalog.conftest import WriteConfig

SENTINEL = "sk-sentinel-must-never-be-printed-4242"
WIDE = {"COLUMNS": "220"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_table_lists_models_and_configured_providers(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    result = runner.invoke(app, ["models"], env=WIDE)
    assert result.exit_code == 0, result.output
    for key in ("gpt-4o", "claude-sonnet", "grok-3", "qwen-max", "llama-3.3-70b-groq"):
        assert key in result.output
    assert "OPENAI_API_KEY set" in result.output
    assert "ANTHROPIC_API_KEY missing" in result.output
    assert "unknown price" in result.output
    assert "Configured providers (3 of 9): openai, ollama, vllm" in result.output
    assert SENTINEL not in result.output


def test_json_output(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    assert SENTINEL not in result.output
    data: dict[str, Any] = json.loads(result.output)
    models = {m["key"]: m for m in data["models"]}
    assert len(models) == 12
    assert models["gpt-4o"]["provider_configured"] is True
    assert models["claude-haiku"]["provider_configured"] is False
    assert models["gpt-4o"]["price"]["input_per_mtok"] == 2.5
    assert models["qwen-max"]["price"] is None
    assert models["qwen-max"]["price_known"] is False
    assert models["claude-sonnet"]["top_specialty"]["domain"] == "coding"
    providers = {p["name"]: p for p in data["providers"]}
    assert providers["openai"] == {
        "name": "openai",
        "protocol": "openai",
        "base_url": "https://api.openai.com/v1",
        "api_key_env": "OPENAI_API_KEY",
        "configured": True,
        "requests_per_minute": 500,
        "tokens_per_minute": 200000,
    }
    assert providers["anthropic"]["configured"] is False


def test_config_changes_show_up(runner: CliRunner, write_config: WriteConfig) -> None:
    write_config(
        {
            "models": [
                {
                    "key": "qwen2.5-local",
                    "family": "qwen",
                    "provider": "vllm",
                    "model_id": "Qwen/Qwen2.5-7B-Instruct",
                    "context_window": 32768,
                }
            ],
            "disabled_models": ["mistral-small"],
        }
    )
    result = runner.invoke(app, ["models"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "qwen2.5-local" in result.output
    assert "mistral-small (disabled)" in result.output
    assert "no key needed" in result.output


def test_narrow_terminal_still_renders(runner: CliRunner) -> None:
    result = runner.invoke(app, ["models"], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    assert "Configured providers" in result.output


def test_configuration_error_exits_with_a_message(
    runner: CliRunner, write_config: WriteConfig
) -> None:
    write_config({"disabled_models": ["gpt-9"]})
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 2
    assert "configuration error" in result.output
    assert "gpt-9" in result.output


def test_invalid_settings_do_not_echo_values(runner: CliRunner, write_config: WriteConfig) -> None:
    write_config({"providers": {"openai": {"api_key": SENTINEL}}})
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 2
    assert "api_key" in result.output
    assert SENTINEL not in result.output


def _widest_line(output: str) -> int:
    return max(len(line) for line in output.splitlines())


def test_replay_mode_lists_the_replay_models_in_80_columns(runner: CliRunner) -> None:
    # No provider key and no config: the service would run the offline demo.
    result = runner.invoke(app, ["models"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert _widest_line(result.output) <= 80
    assert "Replay models (offline demo)" in result.output
    assert "gpt-4-1106-preview" in result.output
    assert "mixtral-8x7b-instruct-v0.1" in result.output
    assert "judge only" in result.output  # recorded-judge never answers
    assert "gpt-4o" not in result.output  # not the unusable live catalog
    assert "Status" in result.output  # the last column is not cut off


def test_replay_mode_json_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    assert data["mode"] == "replay"
    answers = {m["key"]: m["answers"] for m in data["models"]}
    assert answers == {
        "gpt-4-1106-preview": True,
        "mixtral-8x7b-instruct-v0.1": True,
        "recorded-judge": False,
    }


def test_live_catalog_fits_80_columns(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    result = runner.invoke(app, ["models"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert _widest_line(result.output) <= 80
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("Key"))
    assert header.rstrip().endswith("Status")  # every column is there, none cropped
    row = next(line for line in lines if line.startswith("llama-3.3-70b-together"))
    assert row.rstrip().endswith("no key")
    assert "gpt-4o " in result.output and "ready" in result.output
    assert SENTINEL not in result.output
