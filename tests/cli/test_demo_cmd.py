"""`orchestratex demo prompts/show`, and `ask` in replay mode: recorded prompts only, with a hint
that names the CLI (not an HTTP route) for any other."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.api.app import create_app
from orchestratex.cli.main import app
from orchestratex.runtime.settings import Settings
from tests.cli.conftest import PROVIDER_KEY_VARS, LoopThread, serve_app
from tests.replay.conftest import tiny_data  # noqa: F401 (the fixture)


@pytest.fixture
def replay_env(tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    """Replay mode on the tiny recordings; returns the data directory (the SQLite store's)."""
    data = tmp_path / "state"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORX_MODE", "replay")
    monkeypatch.setenv("ORX_ROUTELLM_DATA_DIR", str(tiny_data))
    monkeypatch.setenv("ORX_DATA_DIR", str(data))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("ORX_CONFIG", raising=False)
    for name in PROVIDER_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    return data


def test_prompts_lists_filters_and_searches(replay_env: Path) -> None:
    runner = CliRunner()
    every = runner.invoke(app, ["demo", "prompts"])
    assert every.exit_code == 0, every.output
    lines = every.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("gsm8k-") and "What is 2 + 3?" in lines[0]
    assert "mt_bench/writing  Write a haiku." in lines[2]
    assert "3 recorded prompts, 3 shown." in every.stderr

    math = runner.invoke(app, ["demo", "prompts", "--source", "gsm8k"])
    assert [line.split()[0].split("-")[0] for line in math.stdout.splitlines()] == ["gsm8k"] * 2
    haiku = runner.invoke(app, ["demo", "prompts", "--search", "HAIKU"])
    assert len(haiku.stdout.splitlines()) == 1 and "Write a haiku." in haiku.stdout
    none = runner.invoke(app, ["demo", "prompts", "--search", "no such prompt"])
    assert none.exit_code == 0 and none.stdout == "" and "none matches" in none.stderr
    bad = runner.invoke(app, ["demo", "prompts", "--source", "mmlu"])
    assert bad.exit_code == 2


def test_prompts_json_and_show_give_the_full_text(replay_env: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["demo", "prompts", "--json", "--limit", "1"])
    body = json.loads(listed.stdout)
    assert body["total"] == 3 and len(body["items"]) == 1
    first = body["items"][0]
    shown = runner.invoke(app, ["demo", "show", first["id"]])
    assert shown.exit_code == 0 and shown.stdout == first["text"] + "\n"
    missing = runner.invoke(app, ["demo", "show", "gsm8k-nope"])
    assert missing.exit_code == 1 and "orchestratex demo prompts" in missing.stderr


def test_prompts_without_recordings_says_where_to_point(
    replay_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORX_ROUTELLM_DATA_DIR", str(tmp_path / "missing"))
    result = CliRunner().invoke(app, ["demo", "prompts"])
    assert result.exit_code == 1
    assert "ORX_ROUTELLM_DATA_DIR" in result.stderr


def test_ask_unrecorded_prompt_hints_at_the_cli_before_starting(replay_env: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "What is the capital of France?"])
    assert result.exit_code == 1
    assert "not recorded" in result.stderr
    assert "orchestratex demo prompts" in result.stderr
    assert "/api/" not in result.output
    # It failed before the service started: no store was even created.
    assert not (replay_env / "orchestratex.db").exists()


def test_ask_a_prompt_shown_by_demo_show(replay_env: Path) -> None:
    runner = CliRunner()
    prompt = runner.invoke(app, ["demo", "show", "mt_bench-7"]).stdout.strip()
    assert prompt == "Write a haiku."
    result = runner.invoke(app, ["ask", "--max-rounds", "1", prompt])
    assert result.exit_code == 0, result.output
    assert "Leaves fall" in result.stdout  # GPT-4's recorded answer
    assert "replay mode" in result.stdout


async def _serve_replay(stack: AsyncExitStack, settings: Settings) -> str:
    return await serve_app(stack, create_app(settings, env={}))


def test_ask_server_unrecorded_prompt_hints_at_the_cli(
    replay_env: Path,
    tiny_data: Path,  # noqa: F811
    background: LoopThread,
) -> None:
    settings = Settings(mode="replay", data_dir=replay_env, routellm_data_dir=tiny_data)
    url = background.run(_serve_replay(background.stack, settings))
    result = CliRunner().invoke(app, ["ask", "--server", url, "Not a recorded prompt"])
    assert result.exit_code == 1
    assert "not recorded" in result.stderr
    assert "orchestratex demo prompts" in result.stderr
    assert "/api/" not in result.output
