"""Grouped evaluation: how a router does on MMLU subjects it never saw in training.

MMLU's subjects are dealt into `folds` folds (balanced by prompt count, order by a seeded hash);
each fold is tested once by a router trained on every other fold plus MT-Bench and GSM8K, so no
subject is ever in both train and test. Reported: APGR per fold (mean and worst), APGR of all
out-of-fold scores pooled, a per-subject table, and the within-subject APGR (each subject's
prompts ranked only against each other, averaged over subjects weighted by size), which tells
whether the router ranks prompts or only whole subjects. The train-without, score-the-held-out
loop (`leave_groups_out`) is shared with the unseen-subject draws (bench/routing_unseen.py).
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_metrics import evaluate_scores

DEFAULT_FOLDS = 5
MIN_GAP = 0.02
"""Subjects whose strong-weak quality gap is below this are left out of within-subject APGR."""

Scorer = Callable[[Sequence[RoutingItem], Sequence[RoutingItem]], list[float]]
"""(train items, test items) -> a strong score per test item."""


class FoldResult(BaseModel):
    fold: int
    subjects: list[str]
    prompts: int
    weak_quality: float
    strong_quality: float
    apgr: float


class SubjectResult(BaseModel):
    subject: str
    fold: int
    prompts: int
    weak_quality: float
    strong_quality: float
    apgr_within: float | None
    mean_score: float


class GroupedResult(BaseModel):
    folds: list[FoldResult]
    mean_apgr: float
    worst_apgr: float
    worst_fold: int
    pooled_apgr: float
    within_subject_apgr: float
    subjects: list[SubjectResult]


def _rank(seed: int, subject: str) -> bytes:
    return hashlib.sha256(f"{seed}\x1f{subject}".encode()).digest()


def subject_folds(items: Sequence[RoutingItem], folds: int, seed: int = 0) -> list[list[str]]:
    """Subjects dealt into `folds` groups, each subject to the group with fewest prompts so far."""
    sizes: dict[str, int] = defaultdict(int)
    for item in items:
        if item.group:
            sizes[item.group] += 1
    if len(sizes) < folds:
        raise ValueError(f"{len(sizes)} subjects cannot make {folds} folds")
    order = sorted(sizes, key=lambda s: (-sizes[s], _rank(seed, s)))
    groups: list[list[str]] = [[] for _ in range(folds)]
    load = [0] * folds
    for subject in order:
        i = min(range(folds), key=lambda j: (load[j], j))
        groups[i].append(subject)
        load[i] += sizes[subject]
    return [sorted(g) for g in groups]


def within_subject_apgr(
    items: Sequence[RoutingItem], scores: Sequence[float]
) -> tuple[float, dict[str, float | None]]:
    """Size-weighted mean APGR of each subject's own ranking, and each subject's figure."""
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_subject[item.group].append(i)
    per: dict[str, float | None] = {}
    total = weight = 0.0
    for subject, idx in sorted(by_subject.items()):
        strong = [items[i].strong for i in idx]
        weak = [items[i].weak for i in idx]
        gap = float(np.mean(strong) - np.mean(weak))
        if gap < MIN_GAP:
            per[subject] = None
            continue
        value = evaluate_scores([scores[i] for i in idx], strong, weak).apgr
        per[subject] = value if math.isfinite(value) else None
        if per[subject] is not None:
            total += value * len(idx)
            weight += len(idx)
    return (total / weight if weight else float("nan")), per


@dataclass(frozen=True, slots=True)
class HeldOut:
    """One held-out set of MMLU subjects and the scores a router trained without them gave."""

    subjects: list[str]
    index: list[int]
    """Positions of the held-out prompts in the MMLU items."""
    items: list[RoutingItem]
    scores: list[float]

    @property
    def weak_quality(self) -> float:
        return float(np.mean([it.weak for it in self.items]))

    @property
    def strong_quality(self) -> float:
        return float(np.mean([it.strong for it in self.items]))

    @property
    def apgr(self) -> float:
        strong = [it.strong for it in self.items]
        return evaluate_scores(self.scores, strong, [it.weak for it in self.items]).apgr


def leave_groups_out(
    mmlu: Sequence[RoutingItem],
    others: Sequence[RoutingItem],
    scorer: Scorer,
    held_out: Sequence[Sequence[str]],
) -> list[HeldOut]:
    """For each set of subjects in `held_out`: train on every other MMLU prompt plus `others`,
    score that set's prompts. The loop of grouped folds and of unseen-subject draws alike."""
    out: list[HeldOut] = []
    for subjects in held_out:
        chosen = set(subjects)
        index = [i for i, it in enumerate(mmlu) if it.group in chosen]
        test = [mmlu[i] for i in index]
        train = [it for it in mmlu if it.group not in chosen] + list(others)
        out.append(HeldOut(list(subjects), index, test, scorer(train, test)))
    return out


def grouped_cv(
    mmlu: Sequence[RoutingItem],
    others: Sequence[RoutingItem],
    scorer: Scorer,
    *,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> GroupedResult:
    """Run `scorer` once per fold of MMLU subjects and measure each held-out fold."""
    groups = subject_folds(mmlu, folds, seed)
    fold_of = {s: f for f, g in enumerate(groups) for s in g}
    results: list[FoldResult] = []
    pooled: dict[int, float] = {}
    for f, held in enumerate(leave_groups_out(mmlu, others, scorer, groups)):
        results.append(
            FoldResult(
                fold=f,
                subjects=held.subjects,
                prompts=len(held.items),
                weak_quality=held.weak_quality,
                strong_quality=held.strong_quality,
                apgr=held.apgr,
            )
        )
        pooled.update(zip(held.index, held.scores, strict=True))
    all_scores = [pooled[i] for i in range(len(mmlu))]
    within, per = within_subject_apgr(mmlu, all_scores)
    subjects: list[SubjectResult] = []
    for subject in sorted(fold_of):
        idx = [i for i, it in enumerate(mmlu) if it.group == subject]
        subjects.append(
            SubjectResult(
                subject=subject,
                fold=fold_of[subject],
                prompts=len(idx),
                weak_quality=float(np.mean([mmlu[i].weak for i in idx])),
                strong_quality=float(np.mean([mmlu[i].strong for i in idx])),
                apgr_within=per.get(subject),
                mean_score=float(np.mean([all_scores[i] for i in idx])),
            )
        )
    worst = min(results, key=lambda r: r.apgr)
    return GroupedResult(
        folds=results,
        mean_apgr=float(np.mean([r.apgr for r in results])),
        worst_apgr=worst.apgr,
        worst_fold=worst.fold,
        pooled_apgr=evaluate_scores(
            all_scores, [it.strong for it in mmlu], [it.weak for it in mmlu]
        ).apgr,
        within_subject_apgr=within,
        subjects=subjects,
    )
