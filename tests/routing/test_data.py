from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestratex.bench.routing_data import (
    STRONG_MODEL,
    WEAK_MODEL,
    RoutingItem,
    load_all,
    load_gsm8k,
    split,
)
from tests.routing.helpers import DATA_DIR, needs_data


@needs_data
def test_real_counts_and_contamination_exclusion() -> None:
    sets = load_all(DATA_DIR)
    counts = {name: (len(s.items), s.contaminated_dropped) for name, s in sets.items()}
    assert counts == {"mt_bench": (72, 8), "mmlu": (7655, 3), "gsm8k": (1307, 12)}
    for name in sets:
        path = DATA_DIR / name / "contaminated_prompts.jsonl"
        banned = {json.loads(line)["eval_prompt"] for line in path.read_text().splitlines()}
        assert not banned & {i.prompt for i in sets[name].items}
    gsm = sets["gsm8k"].items
    assert sum(i.strong for i in gsm) / len(gsm) == pytest.approx(0.86, abs=0.01)
    assert sum(i.weak for i in gsm) / len(gsm) == pytest.approx(0.64, abs=0.01)
    mt = sets["mt_bench"].items
    assert all(1.0 <= i.strong <= 10.0 and 1.0 <= i.weak <= 10.0 for i in mt)


@needs_data
def test_real_split_is_deterministic_and_disjoint() -> None:
    items = load_gsm8k(DATA_DIR).items
    train, test = split(items, seed=0, test_fraction=0.5)
    again = split(list(reversed(items)), seed=0, test_fraction=0.5)
    assert {i.prompt for i in test} == {i.prompt for i in again[1]}
    assert not {i.prompt for i in train} & {i.prompt for i in test}
    assert len(train) + len(test) == len(items)
    assert 0.4 < len(test) / len(items) < 0.6
    other = split(items, seed=1, test_fraction=0.5)[1]
    assert {i.prompt for i in other} != {i.prompt for i in test}


def test_targets() -> None:
    assert RoutingItem("gsm8k", "p", 1.0, 0.0).target == 1.0
    assert RoutingItem("gsm8k", "p", 1.0, 1.0).target == 0.0
    assert RoutingItem("mmlu", "p", 0.0, 1.0).target == 0.0
    assert RoutingItem("mt_bench", "p", 9.0, 7.5).target == pytest.approx(0.5)
    assert RoutingItem("mt_bench", "p", 6.0, 8.0).target == 0.0
    assert RoutingItem("mt_bench", "p", 10.0, 2.0).target == 1.0


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="routing data not found"):
        load_gsm8k(tmp_path)


def test_models_named_in_the_data_readme() -> None:
    readme = DATA_DIR / "README.md"
    if not readme.is_file():
        pytest.skip("shared RouteLLM data absent")
    text = readme.read_text(encoding="utf-8")
    assert STRONG_MODEL in text and WEAK_MODEL in text
