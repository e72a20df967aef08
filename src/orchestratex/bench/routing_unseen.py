"""Repeated leave-subjects-out: how the router does on many sets of MMLU subjects it never saw.

One grouped split can be lucky. Here `draws` seeded draws each hold out `k` MMLU subjects; the
router is trained (setting and experts chosen on grouped inner folds of its training rows only,
bench/routing_semantic.py) on every other row, MT-Bench and GSM8K included, and measured on the
held-out subjects pooled, the way an absent set of subjects is checked. Reported: each draw's
APGR, within-subject APGR and subject-mean oracle APGR (the ceiling of ranking whole subjects
perfectly), the mean, the worst draw, the standard deviation, the 10% quantile
and the share of draws at or above the bar, so that no single draw carries the figure.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from orchestratex.bench.routing_data import BENCHMARKS, LOADERS, RoutingItem
from orchestratex.bench.routing_features import build_bank
from orchestratex.bench.routing_grouped import Scorer, leave_groups_out, within_subject_apgr
from orchestratex.bench.routing_metrics import evaluate_scores
from orchestratex.bench.routing_select import Selection
from orchestratex.bench.routing_semantic import semantic_scorer
from orchestratex.engine.embeddings import default_embedder

DEFAULT_DRAWS = 20
DEFAULT_HELD_OUT = 6
BAR = 0.55
"""The APGR the project must reach on MMLU subjects absent from the shared data."""


class UnseenDraw(BaseModel):
    draw: int
    subjects: list[str]
    prompts: int
    weak_quality: float
    strong_quality: float
    apgr: float
    within_subject_apgr: float
    subject_oracle_apgr: float
    """APGR of scores equal to each held-out subject's true mean gain (random inside it): the
    ceiling of a router that ranks whole subjects perfectly and prompts not at all."""
    setting: str = ""


class UnseenResult(BaseModel):
    held_out: int
    draws: list[UnseenDraw]
    mean_apgr: float
    worst_apgr: float
    best_apgr: float
    sd_apgr: float
    p10_apgr: float
    share_at_bar: float
    bar: float = BAR
    mean_within_subject_apgr: float
    mean_subject_oracle_apgr: float
    router: str = ""
    embedding_model: str | None = None
    seed: int = 0
    total_seconds: float = 0.0


def subject_draws(subjects: Sequence[str], draws: int, k: int, seed: int) -> list[list[str]]:
    """`draws` sets of `k` distinct subjects, each from a generator seeded by (seed, draw)."""
    pool = sorted(set(subjects))
    if not 0 < k < len(pool):
        raise ValueError(f"cannot hold out {k} of {len(pool)} subjects and train on the rest")
    out: list[list[str]] = []
    for d in range(draws):
        key = hashlib.sha256(f"{seed}\x1fdraw\x1f{d}".encode()).digest()[:8]
        rng = np.random.default_rng(int.from_bytes(key, "big"))
        out.append(sorted(str(s) for s in rng.choice(pool, size=k, replace=False)))
    return out


def subject_means(items: Sequence[RoutingItem]) -> list[float]:
    """Each item's subject's mean strong-minus-weak gain (ties inside a subject)."""
    gains: dict[str, list[float]] = {}
    for it in items:
        gains.setdefault(it.group, []).append(it.gain)
    mean = {g: float(np.mean(v)) for g, v in gains.items()}
    return [mean[it.group] for it in items]


def leave_subjects_out(
    mmlu: Sequence[RoutingItem],
    others: Sequence[RoutingItem],
    scorer: Scorer,
    *,
    draws: int = DEFAULT_DRAWS,
    k: int = DEFAULT_HELD_OUT,
    seed: int = 0,
    settings: Sequence[str] | None = None,
) -> UnseenResult:
    """Score each draw's held-out subjects with a router trained on everything else.

    `settings`, when given, is a list the scorer appends each draw's chosen setting to."""
    drawn = subject_draws([it.group for it in mmlu], draws, k, seed)
    results: list[UnseenDraw] = []
    for d, held in enumerate(leave_groups_out(mmlu, others, scorer, drawn)):
        strong = [it.strong for it in held.items]
        weak = [it.weak for it in held.items]
        results.append(
            UnseenDraw(
                draw=d,
                subjects=held.subjects,
                prompts=len(held.items),
                weak_quality=held.weak_quality,
                strong_quality=held.strong_quality,
                apgr=held.apgr,
                within_subject_apgr=within_subject_apgr(held.items, held.scores)[0],
                subject_oracle_apgr=evaluate_scores(subject_means(held.items), strong, weak).apgr,
                setting=settings[d] if settings is not None and d < len(settings) else "",
            )
        )
    figures = np.asarray([r.apgr for r in results], dtype=np.float64)
    return UnseenResult(
        held_out=k,
        draws=results,
        mean_apgr=float(figures.mean()),
        worst_apgr=float(figures.min()),
        best_apgr=float(figures.max()),
        sd_apgr=float(figures.std(ddof=1)) if len(figures) > 1 else 0.0,
        p10_apgr=float(np.quantile(figures, 0.1)),
        share_at_bar=float(np.mean(figures >= BAR)),
        mean_within_subject_apgr=float(np.nanmean([r.within_subject_apgr for r in results])),
        mean_subject_oracle_apgr=float(np.mean([r.subject_oracle_apgr for r in results])),
        seed=seed,
    )


def run_unseen_bench(
    data: Path,
    *,
    draws: int = DEFAULT_DRAWS,
    k: int = DEFAULT_HELD_OUT,
    seed: int = 0,
    embeddings: bool = True,
    cache_dir: Path | None = None,
) -> UnseenResult:
    """Load every benchmark under `data`, then `leave_subjects_out` with the shipped router."""
    started = time.perf_counter()
    sets = {name: LOADERS[name](data) for name in BENCHMARKS}
    mmlu = list(sets["mmlu"].items)
    others = [it for name, s in sets.items() if name != "mmlu" for it in s.items]
    embedder = default_embedder() if embeddings else None
    bank = build_bank(mmlu + others, embedder, cache_dir)
    chosen: list[Selection] = []
    settings: list[str] = []

    def scorer(train: Sequence[RoutingItem], test: Sequence[RoutingItem]) -> list[float]:
        scores = semantic_scorer(bank, seed=seed, chosen=chosen)(train, test)
        used = [e.kind for e in chosen[-1].experts if e.used]
        settings.append(chosen[-1].chosen + (f"; experts: {', '.join(used)}" if used else ""))
        return scores

    result = leave_subjects_out(
        mmlu, others, scorer, draws=draws, k=k, seed=seed, settings=settings
    )
    result.router = "semantic (setting chosen per draw on grouped inner folds)"
    result.embedding_model = bank.embedding_model
    result.total_seconds = round(time.perf_counter() - started, 1)
    return result


def format_unseen(result: UnseenResult) -> str:
    """The summary line first, then one line per draw."""
    out = [
        f"Leave-subjects-out: {len(result.draws)} draws of {result.held_out} held-out MMLU "
        f"subjects (seed {result.seed}); features: {result.embedding_model or 'analysis only'}",
        f"  APGR mean {result.mean_apgr:.3f}, worst {result.worst_apgr:.3f}, best "
        f"{result.best_apgr:.3f}, sd {result.sd_apgr:.3f}, 10% quantile {result.p10_apgr:.3f}; "
        f"{result.share_at_bar:.0%} of draws at or above {result.bar:.2f}",
        f"  within-subject APGR mean {result.mean_within_subject_apgr:.3f}; ceiling of ranking "
        f"whole subjects perfectly (subject-mean oracle) {result.mean_subject_oracle_apgr:.3f}",
    ]
    for d in result.draws:
        out.append(
            f"  draw {d.draw:>2}: APGR {d.apgr:.3f} (within {d.within_subject_apgr:.3f}, "
            f"subject oracle {d.subject_oracle_apgr:.3f}) on "
            f"{d.prompts} prompts, weak {d.weak_quality:.3f} strong {d.strong_quality:.3f}: "
            f"{', '.join(d.subjects)}" + (f"  [{d.setting}]" if d.setting else "")
        )
    if result.total_seconds:
        out.append(f"Whole run: {result.total_seconds:.0f} s")
    return "\n".join(out)
