"""The LiteLLM comparison target: the commands it would run, its config, and its failure path.

LiteLLM itself is never installed here: these check what the benchmark would run and that a
missing or broken install is reported as unavailable instead of failing the benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestratex.bench import litellm_proxy
from orchestratex.bench.litellm_proxy import (
    LITELLM_REQUIREMENT,
    LiteLLMUnavailable,
    ensure_venv,
    install_commands,
    litellm_process,
    proxy_command,
    proxy_config,
    proxy_env,
)


def test_requirement_is_pinned() -> None:
    assert LITELLM_REQUIREMENT.startswith("litellm[proxy]==")
    assert litellm_proxy.LITELLM_VERSION != "1.107.0"  # the compromised release


def test_install_commands_with_uv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    commands = install_commands(venv, python="/usr/bin/python3.11", uv="/opt/uv")
    assert commands == [
        ["/opt/uv", "venv", "--quiet", "--python", "/usr/bin/python3.11", str(venv)],
        ["/opt/uv", "pip", "install", "--python", str(venv / "bin/python"), LITELLM_REQUIREMENT],
    ]


def test_install_commands_with_pip(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    commands = install_commands(venv, python="/usr/bin/python3.11", uv=None)
    assert commands[0] == ["/usr/bin/python3.11", "-m", "venv", str(venv)]
    assert commands[1][:4] == [str(venv / "bin/python"), "-m", "pip", "install"]
    assert commands[1][-1] == LITELLM_REQUIREMENT


def test_config_is_lean() -> None:
    config = proxy_config(
        "http://127.0.0.1:9/v1", model="fake-gpt", upstream_model="fake-up", master_key="sk-x"
    )
    (entry,) = config["model_list"]
    assert entry["model_name"] == "fake-gpt"
    assert entry["litellm_params"]["model"] == "openai/fake-up"
    assert entry["litellm_params"]["api_base"] == "http://127.0.0.1:9/v1"
    settings = config["litellm_settings"]
    assert settings["telemetry"] is False
    assert settings["callbacks"] == settings["success_callback"] == []
    general = config["general_settings"]
    assert general["master_key"] == "sk-x"
    assert "database_url" not in general
    assert general["disable_spend_logs"] is True


def test_config_for_an_anthropic_protocol_model() -> None:
    config = proxy_config(
        "http://127.0.0.1:9/v1/messages",
        model="fake-claude",
        upstream_model="fake-claude-large",
        master_key="sk-x",
        protocol="anthropic",
    )
    (entry,) = config["model_list"]
    assert entry["litellm_params"]["model"] == "anthropic/fake-claude-large"
    assert entry["litellm_params"]["api_base"] == "http://127.0.0.1:9/v1/messages"


def test_env_drops_keys_and_database() -> None:
    env = proxy_env(
        {"PATH": "/bin", "OPENAI_API_KEY": "sk-real", "DATABASE_URL": "postgres://x", "ORX_A": "1"}
    )
    assert env["PATH"] == "/bin"
    assert "OPENAI_API_KEY" not in env
    assert "DATABASE_URL" not in env
    assert "ORX_A" not in env
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["LITELLM_TELEMETRY"] == "False"


def test_command_uses_one_worker(tmp_path: Path) -> None:
    command = proxy_command(tmp_path, tmp_path / "c.yaml", 4000)
    assert command[0] == str(tmp_path / "bin" / "litellm")
    assert command[command.index("--num_workers") + 1] == "1"
    assert command[command.index("--host") + 1] == "127.0.0.1"


async def test_missing_installer_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(LiteLLMUnavailable, match="cannot run /nonexistent/uv"):
        await ensure_venv(
            tmp_path / "venv", tmp_path / "log", python=sys.executable, uv="/nonexistent/uv"
        )


async def test_failing_installer_is_unavailable(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    with pytest.raises(LiteLLMUnavailable, match=r"failed \(/bin/false venv --quiet... exited 1"):
        await ensure_venv(venv, tmp_path / "log", python=sys.executable, uv="/bin/false")
    assert not (venv / litellm_proxy.MARKER).exists()


async def test_installed_marker_skips_install(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / litellm_proxy.MARKER).write_text(LITELLM_REQUIREMENT + "\n")
    assert await ensure_venv(venv, tmp_path / "log", python="/nonexistent/python3") == []


async def test_missing_executable_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(LiteLLMUnavailable, match="cannot start"):
        async with litellm_process(
            "http://127.0.0.1:9/v1", tmp_path, venv=tmp_path / "none", model="m", upstream_model="u"
        ):
            pass


async def test_a_folder_it_did_not_make_is_left_alone(tmp_path: Path) -> None:
    venv = tmp_path / "someone-elses-venv"
    venv.mkdir()
    keep = venv / "keep.txt"
    keep.write_text("mine")
    with pytest.raises(LiteLLMUnavailable, match="was not made by the benchmark"):
        await ensure_venv(venv, tmp_path / "log", python=sys.executable, uv="/bin/false")
    assert keep.read_text() == "mine"


async def test_an_older_install_of_ours_is_replaced(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / litellm_proxy.MARKER).write_text("litellm[proxy]==1.0.0\n")
    with pytest.raises(LiteLLMUnavailable, match="exited 1"):
        await ensure_venv(venv, tmp_path / "log", python=sys.executable, uv="/bin/false")
    assert not venv.exists()  # removed before the (failing) reinstall
