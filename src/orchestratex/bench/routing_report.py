"""The routing benchmark's report: its data shape and its readable text form."""

from __future__ import annotations

from pydantic import BaseModel

from orchestratex.bench.routing_grouped import GroupedResult
from orchestratex.bench.routing_metrics import RouterMetrics
from orchestratex.bench.routing_select import ExpertChoice, Selection


class CurvePointOut(BaseModel):
    threshold: float
    strong_share: float
    quality: float


class MethodResult(BaseModel):
    apgr: float
    cpt50: float | None
    cpt80: float | None
    curve: list[CurvePointOut]

    @classmethod
    def of(cls, metrics: RouterMetrics) -> MethodResult:
        return cls(
            apgr=metrics.apgr,
            cpt50=metrics.cpt50,
            cpt80=metrics.cpt80,
            curve=[
                CurvePointOut(threshold=p.threshold, strong_share=p.strong_share, quality=p.quality)
                for p in metrics.curve
            ],
        )


class BenchmarkResult(BaseModel):
    benchmark: str
    train_prompts: int
    test_prompts: int
    contaminated_dropped: int
    weak_quality: float
    strong_quality: float
    learned: MethodResult
    hashed: MethodResult | None = None
    random: MethodResult
    oracle: MethodResult
    unknown_share: float = 0.0
    """Share of test prompts the router called far from its training data (scored as prior)."""
    expert_shares: dict[str, float] = {}
    """Share of test prompts scored by each kind's expert (the rest: the pooled model)."""


class RoutingReport(BaseModel):
    strong_model: str
    weak_model: str
    router: str
    embedding_model: str | None
    split: str
    seed: int
    train_prompts: int
    feature_seconds: float
    train_seconds: float
    selection: Selection
    ood_threshold: float | None
    benchmarks: list[BenchmarkResult]
    mmlu_within_subject_apgr: float | None
    grouped: GroupedResult | None
    grouped_settings: list[Selection]
    grouped_hashed: GroupedResult | None
    total_seconds: float = 0.0
    """Wall time of the whole benchmark run (features, grouped folds, training, scoring)."""


class ScoreLine(BaseModel):
    benchmark: str
    prompt: str
    strong_score: float


def _pct(value: float | None) -> str:
    return "never" if value is None else f"{value:.1%}"


def _setting(selection: Selection) -> str:
    """The chosen setting and the kinds that got an expert, in a few words."""
    used = [e.kind for e in selection.experts if e.used]
    return selection.chosen + (f"; experts: {', '.join(used)}" if used else "")


def _expert_line(e: ExpertChoice) -> str:
    if e.best is None or e.pooled_apgr is None:
        return f"  {e.kind}: {e.train_prompts} training prompts, too few to try: pooled model"
    verdict = "expert used" if e.used else "pooled model kept"
    return (
        f"  {e.kind}: best own setting {e.best.setting} {e.best.mean_apgr:.3f} (worst "
        f"{e.best.worst_apgr:.3f}, neighbours within {e.neighbour_spread:.3f}) vs pooled "
        f"{e.pooled_apgr:.3f} on {e.train_prompts} training prompts: {verdict}"
    )


def _grouped_lines(report: RoutingReport) -> list[str]:
    g = report.grouped
    if g is None:
        return ["Grouped by MMLU subject: not run (fewer subjects than folds)"]
    out = [
        f"Grouped by MMLU subject ({len(g.folds)} folds, no subject in both train and test; "
        "setting chosen inside each fold's training data):",
        f"  APGR mean {g.mean_apgr:.3f}, worst fold {g.worst_apgr:.3f} (fold {g.worst_fold}), "
        f"pooled {g.pooled_apgr:.3f}, within-subject {g.within_subject_apgr:.3f}",
    ]
    if report.grouped_hashed is not None:
        h = report.grouped_hashed
        out.append(
            f"  hashed-word router: mean {h.mean_apgr:.3f}, worst {h.worst_apgr:.3f}, "
            f"within-subject {h.within_subject_apgr:.3f}"
        )
    settings = [_setting(s) for s in report.grouped_settings] or [""] * len(g.folds)
    for fold, label in zip(g.folds, settings, strict=False):
        chosen = f"  [{label}]" if label else ""
        out.append(
            f"  fold {fold.fold}: APGR {fold.apgr:.3f} on {fold.prompts} prompts "
            f"({', '.join(fold.subjects)}){chosen}"
        )
    out.append(f"  {'subject':<34}{'fold':>5}{'n':>6}{'weak':>7}{'strong':>8}{'within':>8}")
    for s in g.subjects:
        within = "-" if s.apgr_within is None else f"{s.apgr_within:.3f}"
        out.append(
            f"  {s.subject:<34}{s.fold:>5}{s.prompts:>6}{s.weak_quality:>7.3f}"
            f"{s.strong_quality:>8.3f}{within:>8}"
        )
    return out


def format_report(report: RoutingReport) -> str:
    """Grouped figures first (the headline), then the random split per benchmark."""
    sel = report.selection
    out = [
        f"Routing: strong {report.strong_model}, weak {report.weak_model}",
        f"Router: {report.router} (features: {report.embedding_model or 'analysis only'})",
        "",
        *_grouped_lines(report),
        "",
        f"Split: {report.split}; trained on {report.train_prompts} prompts in "
        f"{report.train_seconds:.1f} s (features {report.feature_seconds:.1f} s)",
        f"Setting chosen on grouped folds of the training data: {sel.chosen}, inner APGR "
        f"{sel.mean_apgr:.3f} (worst {sel.worst_apgr:.3f}); neighbours move it by at most "
        f"{sel.neighbour_spread:.3f} ("
        + ", ".join(f"{n.setting} {n.mean_apgr:.3f}" for n in sel.neighbours)
        + ")",
    ]
    if sel.experts:
        out.append("Experts (a kind's own model, chosen on inner folds of that kind's rows):")
        out += [_expert_line(e) for e in sel.experts]
    if report.total_seconds:
        out.append(f"Whole run: {report.total_seconds:.0f} s")
    if report.mmlu_within_subject_apgr is not None:
        out.append(
            f"MMLU within-subject APGR (random split): {report.mmlu_within_subject_apgr:.3f}"
        )
    for b in report.benchmarks:
        out += [
            "",
            f"{b.benchmark}: {b.test_prompts} test prompts ({b.train_prompts} train, "
            f"{b.contaminated_dropped} contaminated dropped); "
            f"quality weak {b.weak_quality:.3f}, strong {b.strong_quality:.3f}; "
            f"{b.unknown_share:.1%} called unknown"
            + "".join(f", {v:.1%} scored by the {k} expert" for k, v in b.expert_shares.items()),
            f"  {'method':<14}{'APGR':>8}{'CPT(50%)':>11}{'CPT(80%)':>11}",
        ]
        rows = [("learned", b.learned), ("hashed words", b.hashed)]
        rows += [("random", b.random), ("oracle", b.oracle)]
        for label, m in rows:
            if m is not None:
                out.append(f"  {label:<14}{m.apgr:>8.3f}{_pct(m.cpt50):>11}{_pct(m.cpt80):>11}")
        out.append(f"  {'always weak':<14}{0.0:>8.3f}{'never':>11}{'never':>11}")
        out.append(f"  {'always strong':<14}{1.0:>8.3f}{'100.0%':>11}{'100.0%':>11}")
    return "\n".join(out)
