"""Grouped evaluation: folds never share a subject, and the figures mean what they say."""

from __future__ import annotations

from collections.abc import Sequence

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_grouped import grouped_cv, subject_folds, within_subject_apgr


def _items() -> list[RoutingItem]:
    """Six subjects; inside each, prompts mentioning 'hard' are the ones the strong model wins."""
    out: list[RoutingItem] = []
    for s in range(6):
        for i in range(30 + 10 * s):
            hard = i % 3 == 0
            out.append(
                RoutingItem(
                    "mmlu",
                    f"s{s} q{i} {'hard' if hard else 'easy'}",
                    1.0,
                    0.0 if hard else 1.0,
                    f"subject{s}",
                )
            )
    return out


def test_folds_partition_the_subjects_and_balance_sizes() -> None:
    items = _items()
    folds = subject_folds(items, 3, seed=0)
    flat = [s for f in folds for s in f]
    assert sorted(flat) == sorted({i.group for i in items}) and len(flat) == len(set(flat))
    sizes = [sum(1 for i in items if i.group in f) for f in folds]
    assert max(sizes) - min(sizes) <= 80
    assert subject_folds(items, 3, seed=0) == folds


def test_no_test_subject_is_ever_trained_on() -> None:
    items = _items()
    seen: list[tuple[set[str], set[str]]] = []

    def scorer(train: Sequence[RoutingItem], test: Sequence[RoutingItem]) -> list[float]:
        seen.append(({i.group for i in train}, {i.group for i in test}))
        return [1.0 if "hard" in i.prompt else 0.0 for i in test]

    result = grouped_cv(items, [], scorer, folds=3)
    assert len(seen) == 3 and all(not (tr & te) for tr, te in seen)
    assert result.mean_apgr > 0.75 and result.worst_apgr > 0.75
    assert result.within_subject_apgr > 0.75
    assert len(result.subjects) == 6


def test_within_subject_ignores_subject_level_ranking() -> None:
    """Scores that rank whole subjects (and nothing inside them) are at 0.5 within subjects."""
    items = _items()
    scores = [float(item.group[-1]) for item in items]
    within, per = within_subject_apgr(items, scores)
    assert abs(within - 0.5) < 1e-9
    assert set(per) == {i.group for i in items}
