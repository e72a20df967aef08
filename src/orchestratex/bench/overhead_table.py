"""The overhead report as Markdown tables: both columns, their ratios and the targets."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from orchestratex.bench.overhead import OverheadReport, PathResult


class TargetCheck(BaseModel):
    what: str
    target: str
    value: str
    met: bool | None
    """None when it cannot be judged (LiteLLM missing)."""


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _by_name(report: OverheadReport) -> dict[str, PathResult]:
    return {p.name: p for p in report.paths}


def _rps(path: PathResult) -> float:
    return path.throughput.throughput_per_s if path.throughput else 0.0


def target_checks(report: OverheadReport) -> list[TargetCheck]:
    """The issue's targets, judged on this report."""
    paths = _by_name(report)
    named, auto, lite = paths.get("named"), paths.get("auto"), paths.get("litellm")
    checks: list[TargetCheck] = []

    def vs_litellm(
        path: PathResult | None, what: str, limit: float, figure: Callable[[PathResult], float]
    ) -> None:
        if path is None:
            return
        ratio = _ratio(figure(path), figure(lite)) if lite else None
        at_least = limit > 1
        sign = ">=" if at_least else "<="
        met = None if ratio is None else (ratio >= limit if at_least else ratio <= limit)
        checks.append(
            TargetCheck(
                what=what, target=f"{sign} {limit:g}x LiteLLM", value=_fmt_ratio(ratio), met=met
            )
        )

    def added(p: PathResult) -> float:
        return p.added_p50_ms_per_call

    vs_litellm(named, "named model: added latency per call, p50", 0.25, added)
    vs_litellm(auto, "auto: added latency per call, p50", 0.5, added)
    vs_litellm(named, "named model: throughput, one process", 2.0, _rps)
    if named is not None:
        cpu = named.cpu_ms_per_request
        checks.append(
            TargetCheck(
                what="named model: service CPU per request",
                target="<= 5 ms",
                value=f"{cpu:.1f} ms",
                met=cpu <= 5.0,
            )
        )
        calls = named.upstream_calls_per_request
        checks.append(
            TargetCheck(
                what="named model: upstream calls per request",
                target="1",
                value=f"{calls:g}",
                met=calls == 1.0,
            )
        )
        errors = sum(
            p.latency.errors + (p.throughput.errors if p.throughput else 0)
            for p in report.paths
            if p.name != "litellm"
        )
        checks.append(
            TargetCheck(what="OrchestrateX errors", target="0", value=str(errors), met=errors == 0)
        )
    return checks


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _errors(count: int, kinds: dict[str, int]) -> str:
    """An error count with its kinds, so a stray error in a report says what it was."""
    if not count:
        return "0"
    return f"{count} (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"


def _path_rows(report: OverheadReport) -> list[str]:
    conc = report.throughput_concurrency
    rows = [
        _row(
            [
                "path",
                "upstream calls / request",
                "added p50 / call",
                "added p90 / call",
                "end-to-end p50",
                "CPU / request",
                "ok / errors (conc. 1)",
                f"throughput (conc. {conc})",
                "errors (throughput)",
            ]
        ),
        _row(["---"] * 9),
    ]
    for p in report.paths:
        t = p.throughput
        rows.append(
            _row(
                [
                    p.label,
                    f"{p.upstream_calls_per_request:g}",
                    f"{p.added_p50_ms_per_call:.1f} ms",
                    f"{p.added_p90_ms_per_call:.1f} ms",
                    f"{p.latency.p50_ms:.1f} ms",
                    f"{p.cpu_ms_per_request:.1f} ms",
                    f"{p.latency.ok} / {_errors(p.latency.errors, p.latency.error_kinds)}",
                    f"{t.throughput_per_s:.1f}/s" if t else "-",
                    _errors(t.errors, t.error_kinds) if t else "-",
                ]
            )
        )
    paths = _by_name(report)
    lite = paths.get("litellm")
    if lite is None:
        return rows
    for name in ("named", "auto"):
        q = paths.get(name)
        if q is None:
            continue
        rows.append(
            _row(
                [
                    f"ratio {name} / LiteLLM",
                    _fmt_ratio(
                        _ratio(q.upstream_calls_per_request, lite.upstream_calls_per_request)
                    ),
                    _fmt_ratio(_ratio(q.added_p50_ms_per_call, lite.added_p50_ms_per_call)),
                    _fmt_ratio(_ratio(q.added_p90_ms_per_call, lite.added_p90_ms_per_call)),
                    _fmt_ratio(_ratio(q.latency.p50_ms, lite.latency.p50_ms)),
                    _fmt_ratio(_ratio(q.cpu_ms_per_request, lite.cpu_ms_per_request)),
                    "",
                    _fmt_ratio(_ratio(_rps(q), _rps(lite))),
                    "",
                ]
            )
        )
    return rows


def format_report(report: OverheadReport) -> str:
    """Machine facts, LiteLLM's status, the paths table with ratios, and the targets."""
    m = report.machine
    lite = report.litellm
    lines = [
        f"machine: {m.cpu_model}, {m.cores} cores, {m.ram_gib} GiB, Python {m.python}; "
        f"load average before {m.load_average[0]:.2f}, after {report.load_average_after[0]:.2f}"
        " (other processes share this machine; figures move with its load)",
        f"LiteLLM: {lite.requirement} in {lite.venv}: "
        + ("running, " + lite.detail if lite.available else "UNAVAILABLE, " + lite.detail),
    ]
    if not lite.available:
        lines.append("LiteLLM is not measured: OrchestrateX alone below, no ratios.")
    d = report.direct
    lines += [
        f"upstream's own time (fake provider called directly, concurrency 1): p50 "
        f"{d.p50_ms:.2f} ms, p90 {d.p90_ms:.2f} ms ({d.ok} ok, {d.errors} errors)",
        ("streamed replies (SSE, read to the end) on every path; " if report.stream else "")
        + f"{report.requests} requests per path at concurrency 1 in {report.blocks} alternating "
        f"blocks; throughput: concurrency {report.throughput_concurrency} for "
        f"{report.throughput_s:g} s per path, fake provider at 0 ms; OrchestrateX "
        + ("with an API key, sent on every request" if report.keyed else "in open mode (no key)"),
        "",
        *_path_rows(report),
        "",
        "idle CPU (no request in flight, ms per second): "
        + ", ".join(f"{k} {v:.1f}" for k, v in report.idle_cpu_ms_per_s.items()),
        "",
        _row(["target", "wanted", "measured", "met"]),
        _row(["---"] * 4),
    ]
    for check in target_checks(report):
        met = "n/a" if check.met is None else ("yes" if check.met else "no")
        lines.append(_row([check.what, check.target, check.value, met]))
    lines.append("")
    lines.append(f"wall time: {report.wall_s:.0f} s")
    return "\n".join(lines)
