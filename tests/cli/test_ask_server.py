"""`orchestratex ask --server`: against a real uvicorn on loopback, over SSE; Ctrl-C cancels."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.cli.main import app
from orchestratex.core.orchestration import OrchestrationResult
from orchestratex.runtime.auth import ANONYMOUS, NewKey, create_key
from tests.cli.conftest import LoopThread, RunningServer, free_port, interrupt_cli

PROMPT = "Explain why the sky is blue"


def test_ask_against_a_server_completes(server: RunningServer) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["ask", "--server", server.url + "/", "--max-rounds", "2", PROMPT])
    assert shown.exit_code == 0, shown.output
    assert "Analysis  domain" in shown.stdout and "judge fake-" in shown.stdout
    assert "completed: score 6.5/10 · rounds 2 (best 2) · stop max_rounds" in shown.stdout

    as_json = runner.invoke(
        app, ["ask", "--server", server.url, "--json", "--max-rounds", "1", PROMPT]
    )
    assert as_json.exit_code == 0, as_json.output
    result = OrchestrationResult.model_validate(json.loads(as_json.stdout))
    assert result.status == "completed" and result.total_cost_usd > 0


def test_server_with_keys_needs_one(
    server: RunningServer, background: LoopThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def make_key() -> NewKey:
        async with server.service.sessions() as session:
            return await create_key(session, name="cli", is_admin=False)

    key = background.run(make_key()).key
    runner = CliRunner()
    refused = runner.invoke(app, ["ask", "--server", server.url, PROMPT])
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "the server needs an API key: pass --api-key or set ORX_API_KEY"
    )
    wrong = runner.invoke(app, ["ask", "--server", server.url, "--api-key", "orx_wrong", PROMPT])
    assert wrong.exit_code == 1 and "rejected the API key" in wrong.stderr
    assert "orx_wrong" not in wrong.output

    monkeypatch.setenv("ORX_API_KEY", key)
    accepted = runner.invoke(app, ["ask", "--server", server.url, "--max-rounds", "1", PROMPT])
    assert accepted.exit_code == 0, accepted.output
    assert key not in accepted.output


def test_unreachable_server_is_one_line(local_env: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    runner = CliRunner()
    for args in (
        ["ask", "--server", url, PROMPT],
        ["health", "--server", url],
        ["analytics", "--server", url],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert result.output.strip() == f"cannot reach {url}: connection refused"
    debug = runner.invoke(app, ["ask", "--server", url, "--debug", PROMPT])
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
    bad_url = runner.invoke(app, ["health", "--server", "ftp://example"])
    assert bad_url.exit_code == 2 and "http:// or https://" in bad_url.stderr


def test_ctrl_c_cancels_the_run_on_the_server(
    server: RunningServer, background: LoopThread, tmp_path: Path
) -> None:
    server.fake.options.latency_ms = 3000
    env = {**os.environ, "ORX_DATA_DIR": str(tmp_path)}
    env.pop("ORX_CONFIG", None)
    ended = interrupt_cli(["ask", "--server", server.url, PROMPT], env=env, cwd=tmp_path)
    assert ended.returncode == 130, ended
    assert "cancelling the run" in ended.stdout and "cancelled: " in ended.stdout
    assert "Traceback" not in ended.stderr
    status = background.run(server.service.status(ended.thread_id, user=ANONYMOUS))
    assert status is not None and status.status == "cancelled"
