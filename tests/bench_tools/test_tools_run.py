"""The benchmark tools run end to end with tiny sizes and report the expected fields.

No timing is asserted: these only check that the tools work and their JSON is sane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestratex.bench.litellm_proxy import LITELLM_REQUIREMENT, MARKER
from orchestratex.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


REQUESTS = 20


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_bench_overhead_tiny_without_litellm(tmp_path: Path, stream: bool) -> None:
    # A venv marked as installed but without the proxy: LiteLLM cannot start, and the
    # benchmark says so and reports OrchestrateX alone.
    venv = tmp_path / "litellm-venv"
    venv.mkdir()
    (venv / MARKER).write_text(LITELLM_REQUIREMENT + "\n")
    # 20 requests a path: CPU time is read in clock ticks (10 ms), and 4 requests of about
    # 2 ms of CPU each could read as 0.
    args = ["bench", "overhead", "--json", "--requests", str(REQUESTS), "--blocks", "2"]
    args += ["--concurrency", "2", "--throughput-s", "0.5", "--litellm-venv", str(venv)]
    result = CliRunner().invoke(app, args + (["--stream"] if stream else []))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stream"] is stream
    assert report["machine"]["cores"] >= 1
    assert report["litellm"]["available"] is False
    assert "cannot start the LiteLLM proxy" in report["litellm"]["detail"]
    assert report["direct"]["ok"] == REQUESTS
    paths = {p["name"]: p for p in report["paths"]}
    assert set(paths) == {"named", "auto"}
    assert set(report["idle_cpu_ms_per_s"]) == {"service"}
    assert report["idle_cpu_ms_per_s"]["service"] >= 0
    for path in paths.values():
        assert path["latency"]["ok"] == REQUESTS
        assert path["latency"]["errors"] == 0
        assert path["latency"]["p90_ms"] >= path["latency"]["p50_ms"] > 0
        assert _positive(path["cpu_ms_per_request"])
        assert isinstance(path["added_p50_ms_per_call"], float)
        assert path["added_p90_ms_per_call"] >= path["added_p50_ms_per_call"]
        assert _positive(path["throughput"]["throughput_per_s"])
        assert path["throughput"]["errors"] == 0
    # orchestratex/auto: one generation and one judge call upstream; a named model no more.
    assert paths["auto"]["upstream_calls_per_request"] == 2.0
    assert 1.0 <= paths["named"]["upstream_calls_per_request"] <= 2.0


def test_bench_overhead_on_an_anthropic_protocol_model() -> None:
    # --model fake-claude: the service calls it on the Messages protocol, and the upstream's
    # own time is read on the fake provider's /v1/messages.
    args = ["bench", "overhead", "--json", "--requests", "4", "--blocks", "2", "--no-litellm"]
    args += ["--concurrency", "2", "--throughput-s", "0.5", "--stream", "--model", "fake-claude"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["model"], report["protocol"]) == ("fake-claude", "anthropic")
    assert report["direct"]["ok"] == 4 and report["direct"]["errors"] == 0
    named = {p["name"]: p for p in report["paths"]}["named"]
    assert named["label"] == "OrchestrateX /v1 `fake-claude`"
    assert (named["latency"]["ok"], named["latency"]["errors"]) == (4, 0)
    assert 1.0 <= named["upstream_calls_per_request"] <= 2.0
    assert named["throughput"]["errors"] == 0


def test_bench_overhead_refuses_a_model_the_fake_catalog_lacks() -> None:
    result = CliRunner().invoke(app, ["bench", "overhead", "--model", "gpt-4o"])
    assert result.exit_code == 2
    assert "not a fake catalog model" in result.output and "fake-claude" in result.output


def test_bench_concurrency_tiny() -> None:
    args = ["bench", "concurrency", "--json", "--runs", "6", "--latency-ms", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["submitted"], report["submit_errors"]) == (6, 0)
    assert report["all_terminal"] is True
    assert sum(report["statuses"].values()) == 6
    assert report["upstream_calls"] >= 6


@pytest.mark.parametrize(("cap", "open_calls"), [(None, 12), (2, 4)])
def test_bench_memory_tiny(cap: int | None, open_calls: int) -> None:
    args = ["bench", "memory", "--json", "--runs", "10", "--latency-ms", "30000"]
    args += [] if cap is None else ["--max-concurrent", str(cap)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    memory = json.loads(result.stdout)
    assert memory["runs_submitted"] == 10
    assert memory["submit_errors"] == 0
    # The 10 runs and the 2 warm-up runs are all active; each has its first model call open
    # at the fake, or, under a cap of 2 per fake provider (two providers), at most 4 have.
    assert memory["peak_active_runs"] == 12
    assert 2 <= memory["peak_upstream_in_flight"] <= open_calls
    assert cap is not None or memory["peak_upstream_in_flight"] == open_calls
    assert memory["rss_peak_mib"] >= memory["rss_base_mib"] > 0
    assert memory["mib_per_1000_runs"] >= 0


def test_load_script_two_seconds() -> None:
    script = ROOT / "benchmarks" / "load.py"
    args = [sys.executable, str(script), "--duration", "2", "--rate", "4", "--drain", "30"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=110, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    endpoints = report["endpoints"]
    assert set(endpoints) == {"chat_completions", "orchestrate_prompt"}
    for stats in endpoints.values():
        assert stats["sent"] == 4
        assert stats["ok"] == 4
        assert _positive(stats["p50_ms"])
    assert report["errors"] == 0
    assert _positive(report["throughput_per_s"])
    assert report["runs"]["started"] == 8
    assert report["runs"]["completed"] == 8
    assert report["rss_mib"]["start"] > 0
    assert report["rss_mib"]["peak"] >= report["rss_mib"]["start"]
