"""The benchmark tools run end to end with tiny sizes and report the expected fields.

No timing is asserted: these only check that the tools work and their JSON is sane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from orchestratex.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


def test_bench_overhead_tiny() -> None:
    args = ["bench", "overhead", "--json", "--requests", "4", "--concurrency", "2"]
    args += ["--duration", "10", "--ramp-step", "0.5", "--memory-runs", "10"]
    args += ["--memory-latency-ms", "300"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["machine"]["cores"] >= 1
    assert report["machine"]["python"].startswith("3.")
    phases = {(p["target"], p["concurrency"]): p for p in report["latency"]}
    assert set(phases) == {
        (target, conc) for target in ("direct", "direct_stream", "service") for conc in (1, 2)
    }
    for phase in phases.values():
        assert phase["stats"]["ok"] >= 4
        assert phase["stats"]["errors"] == 0
        assert _positive(phase["stats"]["p50_ms"])
        assert phase["stats"]["p99_ms"] >= phase["stats"]["p50_ms"]
    service = phases[("service", 1)]
    # orchestratex/auto: one generation and one judge call upstream.
    assert service["upstream_calls_per_request"] == 2.0
    assert _positive(service["service_cpu_ms_per_request"])
    assert [o["concurrency"] for o in report["overhead"]] == [1, 2]
    for overhead in report["overhead"]:
        assert isinstance(overhead["overhead_per_call_ms"], float)
        assert overhead["upstream_calls_per_request"] == 2.0
    throughput = report["throughput"]
    assert _positive(throughput["sustained_rps"])
    assert throughput["at_concurrency"] in [s["concurrency"] for s in throughput["steps"]]
    memory = report["memory"]
    assert memory["runs_submitted"] == 10
    assert memory["submit_errors"] == 0
    assert 1 <= memory["peak_active_runs"] <= 10
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
