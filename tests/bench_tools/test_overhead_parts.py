"""Parts of `orchestratex bench overhead`: /stats counting, the arithmetic and the table."""

from __future__ import annotations

import httpx

from orchestratex.bench import loadgen
from orchestratex.bench.litellm_proxy import LITELLM_REQUIREMENT
from orchestratex.bench.loadgen import LoadStats
from orchestratex.bench.orchestrate_check import tally_statuses
from orchestratex.bench.overhead import (
    LiteLLMStatus,
    OverheadReport,
    PathResult,
    added_per_call,
)
from orchestratex.bench.overhead_table import format_report, target_checks
from orchestratex.bench.procs import machine_info
from orchestratex.bench.service_probe import chat_body, fake_completions
from orchestratex.testing.fake_provider import FakeProviderServer


def _stats(latencies: list[float], *, errors: int = 0, wall_s: float = 1.0) -> LoadStats:
    ok = len(latencies)
    return LoadStats(
        mode="concurrency",
        concurrency=1,
        target_rate_per_s=None,
        sent=ok + errors,
        ok=ok,
        errors=errors,
        error_kinds={"http_500": errors} if errors else {},
        wall_s=wall_s,
        throughput_per_s=ok / wall_s,
        p50_ms=loadgen.percentile(latencies, 50),
        p90_ms=loadgen.percentile(latencies, 90),
        p99_ms=loadgen.percentile(latencies, 99),
        mean_ms=sum(latencies) / max(ok, 1),
        max_ms=max(latencies, default=0.0),
        latencies_ms=latencies,
    )


def _path(name: str, calls: float, added: float, cpu: float, rps: float) -> PathResult:
    return PathResult(
        name=name,
        label=f"path {name}",
        latency=_stats([10.0, 20.0]),
        upstream_calls_per_request=calls,
        added_p50_ms_per_call=added,
        added_p90_ms_per_call=added * 2,
        cpu_ms_per_request=cpu,
        throughput=_stats([1.0] * int(rps), wall_s=1.0),
    )


def _report(paths: list[PathResult], *, available: bool) -> OverheadReport:
    detail = "already installed" if available else "cannot start the LiteLLM proxy: no file"
    return OverheadReport(
        machine=machine_info(),
        load_average_after=(1.0, 1.0, 1.0),
        requests=2,
        blocks=1,
        throughput_concurrency=16,
        throughput_s=1.0,
        direct=_stats([1.0, 1.0]),
        paths=paths,
        idle_cpu_ms_per_s={"service": 1.5, "litellm": 4.25},
        litellm=LiteLLMStatus(available=available, venv="/v", detail=detail),
        wall_s=3.0,
    )


async def test_fake_completions_counts_calls_from_stats(fake_provider: FakeProviderServer) -> None:
    url = fake_provider.openai_base_url.removesuffix("/v1")
    async with httpx.AsyncClient() as client:
        before = await fake_completions(client, url)
        for i in range(3):
            body = chat_body("fake-gpt-large", i)
            await loadgen.post_json(url + "/v1/chat/completions", body)(client, i)
        await client.get(url + "/v1/models")  # not a completion: not counted
        assert await fake_completions(client, url) - before == 3


def test_added_latency_subtracts_the_upstream_per_call() -> None:
    assert added_per_call([10.0, 14.0], 2.0, 1.0) == [4.0, 6.0]
    assert added_per_call([5.0], 1.0, 1.5) == [3.5]


def test_merge_pools_latencies_and_errors() -> None:
    merged = loadgen.merge([_stats([1.0, 2.0]), _stats([3.0, 4.0], errors=1)])
    assert (merged.sent, merged.ok, merged.errors) == (5, 4, 1)
    assert merged.error_kinds == {"http_500": 1}
    assert merged.p50_ms == 2.0
    assert merged.p90_ms == 4.0
    assert merged.wall_s == 2.0


def test_table_has_both_columns_ratios_and_targets() -> None:
    report = _report(
        [
            _path("named", 1.0, 2.0, 4.0, 100),
            _path("auto", 2.0, 6.0, 30.0, 20),
            _path("litellm", 1.0, 10.0, 8.0, 40),
        ],
        available=True,
    )
    text = format_report(report)
    assert "| path named | 1 | 2.0 ms | 4.0 ms |" in text
    assert "| ratio named / LiteLLM | 1.00x | 0.20x | 0.20x |" in text
    assert "| ratio auto / LiteLLM | 2.00x | 0.60x |" in text
    assert "UNAVAILABLE" not in text
    assert "idle CPU (no request in flight, ms per second): service 1.5, litellm 4.2" in text
    checks = {c.what: c for c in target_checks(report)}
    assert checks["named model: added latency per call, p50"].met is True
    assert checks["auto: added latency per call, p50"].met is False
    assert checks["named model: throughput, one process"].value == "2.50x"
    assert checks["named model: throughput, one process"].met is True
    assert checks["named model: service CPU per request"].met is True
    assert checks["named model: upstream calls per request"].met is True


def test_table_without_litellm_says_so() -> None:
    report = _report(
        [_path("named", 2.0, 20.0, 50.0, 10), _path("auto", 2.0, 25.0, 60.0, 10)],
        available=False,
    )
    text = format_report(report)
    assert f"LiteLLM: {LITELLM_REQUIREMENT} in /v: UNAVAILABLE, cannot start" in text
    assert "OrchestrateX alone" in text
    assert "| ratio" not in text
    checks = {c.what: c for c in target_checks(report)}
    assert checks["named model: added latency per call, p50"].met is None
    assert checks["named model: upstream calls per request"].met is False
    assert checks["named model: service CPU per request"].met is False


def test_statuses_are_tallied() -> None:
    counts, terminal = tally_statuses({"a": "completed", "b": "completed", "c": "failed"})
    assert counts == {"completed": 2, "failed": 1}
    assert terminal
    assert not tally_statuses({"a": "completed", "b": "running"})[1]


def test_error_cells_name_their_kinds() -> None:
    path = _path("auto", 1.0, 2.0, 4.0, 10)
    path.throughput = _stats([1.0] * 10, errors=2)
    text = format_report(_report([_path("named", 1.0, 2.0, 4.0, 10), path], available=False))
    assert "| 10.0/s | 2 (http_500 2) |" in text
    assert "| 2 / 0 |" in text
