"""`orchestratex serve` refuses a public host without auth; `orchestratex keys` manages keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.cli.main import app
from orchestratex.cli.serve_cmd import bind_refusal, is_loopback


def test_bind_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    assert bind_refusal("127.0.0.1", auth=False) is None
    assert bind_refusal("0.0.0.0", auth=True) is None
    refusal = bind_refusal("0.0.0.0", auth=False)
    assert refusal is not None and "0.0.0.0" in refusal


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("ORX_BREAKER_FAILURE_RATE", "2", "breaker_failure_rate: Input should be less than"),
        ("ORX_BREAKER_THRESHOLD", "5", "breaker_threshold was removed"),
        ("ORX_PORT", "0", "port: "),
    ],
)
def test_serve_with_an_invalid_setting_says_which_in_one_line(
    name: str, value: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.output.startswith("invalid settings: ") and said in result.output
    assert "Traceback" not in result.output and "Value error" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_refuses_public_host_without_keys_and_keys_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORX_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    refused = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8999"])
    assert refused.exit_code == 2
    assert "refusing to listen on 0.0.0.0" in refused.output

    created = runner.invoke(app, ["keys", "create", "--name", "ops", "--admin", "--budget", "5"])
    assert created.exit_code == 0, created.output
    key = next(line for line in created.output.splitlines() if line.startswith("orx_"))
    listed = runner.invoke(app, ["keys", "list"])
    assert key[:12] in listed.output and key not in listed.output
    assert "admin" in listed.output and "5 USD" in listed.output
    database = (tmp_path / "orchestratex.db").read_bytes()
    assert key.encode() not in database

    revoked = runner.invoke(app, ["keys", "revoke", key[:12]])
    assert revoked.exit_code == 0
    assert "REVOKED" in runner.invoke(app, ["keys", "list"]).output
    missing = runner.invoke(app, ["keys", "revoke", "orx_nothere"])
    assert missing.exit_code == 1
