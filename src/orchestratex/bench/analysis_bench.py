"""Accuracy and speed of prompt analysis on the labelled RouteLLM set, and on hand-written sets
of everyday prompts on topics the RouteLLM set lacks (`prompts/`).

The hand-written sets were written for this project, in two rounds. In each, a `dev` set was
looked at while the vocabulary was extended, and a `heldout` set was written before that and
only its totals were read, before and after: `analysis_dev` and `analysis_heldout` (first
round), `analysis_dev2` and `analysis_heldout2` (second round, other topics; `analysis_dev2` was
itself measured blind once, 48 of 60, before it was tuned on). Their author had seen the
vocabulary, so they are not blind tests; they show how the rules meet prompts unlike the
benchmark's.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel

from orchestratex.bench.analysis_set import DEFAULT_DATA_DIR, LabelledPrompt, load_analysis_set
from orchestratex.core.types import Domain
from orchestratex.engine.analysis import analyze


class Accuracy(BaseModel):
    correct: int
    total: int
    accuracy: float


class SliceReport(BaseModel):
    """Accuracy of one slice of the set (all, dev or test)."""

    overall: Accuracy
    per_source: dict[str, Accuracy]
    per_domain: dict[str, Accuracy]
    confusion: dict[str, dict[str, int]]
    """confusion[true_domain][predicted_domain] = count"""


class Timing(BaseModel):
    prompts: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float


class WrittenSetReport(BaseModel):
    """Accuracy on one hand-written set."""

    name: str
    overall: Accuracy
    per_domain: dict[str, Accuracy]


class AnalysisBenchReport(BaseModel):
    data_dir: str
    accuracy: float
    """Accuracy on the test half (the dev half was looked at while writing the rules)."""
    test: SliceReport
    dev: SliceReport
    whole: SliceReport
    weakest_groups: dict[str, Accuracy]
    """The five MMLU subjects and MT-Bench categories (whole set) analysed worst."""
    written: list[WrittenSetReport]
    timing: Timing


def _acc(correct: int, total: int) -> Accuracy:
    return Accuracy(
        correct=correct, total=total, accuracy=round(correct / total, 4) if total else 0.0
    )


def _slice(rows: Iterable[tuple[LabelledPrompt, Domain]]) -> SliceReport:
    ok: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    confusion = {t.value: {p.value: 0 for p in Domain} for t in Domain}
    for item, predicted in rows:
        hit = int(predicted == item.domain)
        for key in ("*", f"s:{item.source}", f"d:{item.domain.value}"):
            ok[key] += hit
            seen[key] += 1
        confusion[item.domain.value][predicted.value] += 1
    return SliceReport(
        overall=_acc(ok["*"], seen["*"]),
        per_source={k[2:]: _acc(ok[k], seen[k]) for k in sorted(seen) if k.startswith("s:")},
        per_domain={k[2:]: _acc(ok[k], seen[k]) for k in sorted(seen) if k.startswith("d:")},
        confusion=confusion,
    )


def _groups(rows: Sequence[tuple[LabelledPrompt, Domain]], worst: int = 5) -> dict[str, Accuracy]:
    ok: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for item, predicted in rows:
        if item.source == "gsm8k":
            continue
        key = f"{item.source}/{item.group}"
        ok[key] += int(predicted == item.domain)
        seen[key] += 1
    ranked = sorted(seen, key=lambda k: (ok[k] / seen[k], k))[:worst]
    return {k: _acc(ok[k], seen[k]) for k in ranked}


WRITTEN_SETS = ("analysis_dev", "analysis_heldout", "analysis_dev2", "analysis_heldout2")
PROMPTS_DIR = Path(__file__).parent / "prompts"


def written_set(name: str) -> WrittenSetReport:
    """Accuracy on the hand-written set `name` (one JSON object per line: domain, prompt)."""
    ok: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    with (PROMPTS_DIR / f"{name}.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            hit = int(analyze(row["prompt"]).domain == Domain(row["domain"]))
            for key in ("*", row["domain"]):
                ok[key] += hit
                seen[key] += 1
    domains = sorted(k for k in seen if k != "*")
    return WrittenSetReport(
        name=name,
        overall=_acc(ok["*"], seen["*"]),
        per_domain={d: _acc(ok[d], seen[d]) for d in domains},
    )


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def run_analysis_bench(data_dir: Path | str = DEFAULT_DATA_DIR) -> AnalysisBenchReport:
    """Analyse every labelled prompt; report accuracy per split, source, domain, and timing."""
    items = load_analysis_set(data_dir)
    rows: list[tuple[LabelledPrompt, Domain]] = []
    times: list[float] = []
    for item in items:
        started = time.perf_counter()
        result = analyze(item.prompt)
        times.append((time.perf_counter() - started) * 1000.0)
        rows.append((item, result.domain))
    times.sort()
    test = _slice(r for r in rows if r[0].split == "test")
    return AnalysisBenchReport(
        data_dir=str(data_dir),
        accuracy=test.overall.accuracy,
        test=test,
        dev=_slice(r for r in rows if r[0].split == "dev"),
        whole=_slice(rows),
        weakest_groups=_groups(rows),
        written=[written_set(name) for name in WRITTEN_SETS],
        timing=Timing(
            prompts=len(times),
            mean_ms=round(sum(times) / len(times), 4) if times else 0.0,
            p50_ms=round(_percentile(times, 0.50), 4),
            p99_ms=round(_percentile(times, 0.99), 4),
            max_ms=round(times[-1], 4) if times else 0.0,
        ),
    )


def format_report(report: AnalysisBenchReport) -> str:
    """A plain-text rendering of the report for the terminal."""
    lines = [f"Analysis accuracy on {report.data_dir}"]
    for name, part in (("test half", report.test), ("dev half", report.dev)):
        lines.append(_accuracy_line(name, part.overall))
    whole = report.whole
    lines.append(_accuracy_line("whole set", whole.overall))
    lines.append("")
    lines.append("per source (test half | whole set)")
    for source, acc in whole.per_source.items():
        lines.append(f"  {source:10s} {_pct(report.test.per_source[source])} | {_pct(acc)}")
    lines.append("per domain (test half | whole set)")
    for domain, acc in whole.per_domain.items():
        lines.append(f"  {domain:10s} {_pct(report.test.per_domain[domain])} | {_pct(acc)}")
    lines.append("weakest subjects and categories (whole set)")
    for group, acc in report.weakest_groups.items():
        lines.append(f"  {group:40s} {_pct(acc)}")
    lines.append("hand-written everyday prompts (dev: tuned on; heldout: written before tuning)")
    for written in report.written:
        per = ", ".join(f"{d} {a.correct}/{a.total}" for d, a in written.per_domain.items())
        lines.append(f"  {written.name:18s} {_pct(written.overall)}: {per}")
    lines.append("")
    lines.append("confusion, whole set (rows: true, columns: predicted)")
    names = [d.value for d in Domain]
    lines.append(" " * 10 + "".join(f"{n:>10s}" for n in names))
    for true in names:
        lines.append(f"{true:10s}" + "".join(f"{whole.confusion[true][p]:>10d}" for p in names))
    t = report.timing
    lines.append("")
    lines.append(
        f"timing: {t.prompts} prompts, mean {t.mean_ms:.3f} ms, p50 {t.p50_ms:.3f} ms, "
        f"p99 {t.p99_ms:.3f} ms, max {t.max_ms:.3f} ms"
    )
    return "\n".join(lines)


def _pct(acc: Accuracy) -> str:
    return f"{acc.accuracy * 100:5.1f}% ({acc.correct}/{acc.total})"


def _accuracy_line(name: str, acc: Accuracy) -> str:
    return f"  {name:10s} {_pct(acc)}"
