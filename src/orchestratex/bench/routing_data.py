"""Routing data from the shared RouteLLM recordings: per prompt, the quality of each model.

- GSM8K (`gsm8k/gsm8k_responses.csv`): quality 1/0 = the model's answer was correct.
- MT-Bench (`mt_bench/question.jsonl` + `judgements.jsonl`): quality = the model's mean judge
  score (1..10) over both turns; the prompt routed on is turn 1.
- MMLU (`mmlu/responses/mmlu_*.csv`): quality 1/0 = correct.
Prompts listed in each `contaminated_prompts.jsonl` (`eval_prompt`) are dropped, as RouteLLM
does (for MT-Bench a question is dropped when either turn is listed).

The train/test split is by a hash of seed, benchmark and prompt: deterministic, independent of
file order, and identical prompts always land on the same side.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
BENCHMARKS = ("mt_bench", "mmlu", "gsm8k")
MT_BENCH_TARGET_SPAN = 3.0
"""Judge points of strong-over-weak margin at which the MT-Bench training target reaches 1."""

csv.field_size_limit(10_000_000)


@dataclass(frozen=True, slots=True)
class RoutingItem:
    """One prompt with the quality each model reached on it."""

    benchmark: str
    prompt: str
    strong: float
    weak: float
    group: str = ""
    """The topic the prompt belongs to: the MMLU subject ("" elsewhere)."""

    @property
    def gain(self) -> float:
        """Quality gained by sending this prompt to the strong model."""
        return self.strong - self.weak

    @property
    def target(self) -> float:
        """Training target in 0..1: how much the strong model is needed.

        GSM8K/MMLU: 1 when the strong model is right and the weak one wrong, else 0.
        MT-Bench: the strong model's judge-score margin over MT_BENCH_TARGET_SPAN, clipped.
        """
        if self.benchmark == "mt_bench":
            return min(max(self.gain / MT_BENCH_TARGET_SPAN, 0.0), 1.0)
        return 1.0 if self.gain > 0 else 0.0


@dataclass(frozen=True, slots=True)
class RoutingSet:
    """A benchmark's usable items and how many contaminated prompts were dropped."""

    benchmark: str
    items: tuple[RoutingItem, ...]
    contaminated_dropped: int


def _contaminated(folder: Path) -> set[str]:
    path = folder / "contaminated_prompts.jsonl"
    if not path.is_file():
        return set()
    with path.open(encoding="utf-8") as fh:
        return {json.loads(line)["eval_prompt"] for line in fh if line.strip()}


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"routing data not found: {path}")
    return path


def _flag(value: str) -> float:
    return 1.0 if value.strip().lower() == "true" else 0.0


def _subject(path: Path) -> str:
    """The MMLU subject a response file holds: `mmlu_college_physics.csv` -> college_physics."""
    return path.stem.removeprefix("mmlu_")


def _from_csv(benchmark: str, paths: Sequence[Path], banned: set[str]) -> RoutingSet:
    items: list[RoutingItem] = []
    dropped = 0
    for path in paths:
        group = _subject(path) if benchmark == "mmlu" else ""
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                prompt = row["prompt"]
                if prompt in banned:
                    dropped += 1
                    continue
                items.append(
                    RoutingItem(
                        benchmark, prompt, _flag(row[STRONG_MODEL]), _flag(row[WEAK_MODEL]), group
                    )
                )
    return RoutingSet(benchmark, tuple(items), dropped)


def load_gsm8k(data_dir: Path) -> RoutingSet:
    """GSM8K correctness labels, contaminated prompts dropped."""
    folder = _need(data_dir / "gsm8k")
    return _from_csv("gsm8k", [_need(folder / "gsm8k_responses.csv")], _contaminated(folder))


def load_mmlu(data_dir: Path) -> RoutingSet:
    """MMLU correctness labels over every subject file present, contaminated prompts dropped."""
    folder = _need(data_dir / "mmlu")
    paths = sorted(_need(folder / "responses").glob("mmlu_*.csv"))
    if not paths:
        raise FileNotFoundError(f"routing data not found: {folder / 'responses'}/mmlu_*.csv")
    return _from_csv("mmlu", paths, _contaminated(folder))


def load_mt_bench(data_dir: Path) -> RoutingSet:
    """MT-Bench: mean judge score per model over both turns, routed on turn 1."""
    folder = _need(data_dir / "mt_bench")
    banned = _contaminated(folder)
    scores: dict[tuple[int, str], list[float]] = defaultdict(list)
    with _need(folder / "judgements.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                scores[(int(row["question_id"]), str(row["model"]))].append(float(row["score"]))
    items: list[RoutingItem] = []
    dropped = 0
    with _need(folder / "question.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            turns: list[str] = q["turns"]
            if any(t in banned for t in turns):
                dropped += 1
                continue
            strong = scores.get((int(q["question_id"]), STRONG_MODEL))
            weak = scores.get((int(q["question_id"]), WEAK_MODEL))
            if not strong or not weak:
                continue
            items.append(
                RoutingItem("mt_bench", turns[0], sum(strong) / len(strong), sum(weak) / len(weak))
            )
    return RoutingSet("mt_bench", tuple(items), dropped)


LOADERS = {"mt_bench": load_mt_bench, "mmlu": load_mmlu, "gsm8k": load_gsm8k}


def load_all(data_dir: Path) -> dict[str, RoutingSet]:
    """Every benchmark, keyed by name, in BENCHMARKS order."""
    return {name: LOADERS[name](data_dir) for name in BENCHMARKS}


def in_test_split(item: RoutingItem, *, seed: int, test_fraction: float) -> bool:
    """Whether `item` falls in the test part, by a hash of seed, benchmark and prompt."""
    key = f"{seed}\x1f{item.benchmark}\x1f{item.prompt}".encode()
    bucket = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64
    return bucket < test_fraction


def split(
    items: Sequence[RoutingItem], *, seed: int = 0, test_fraction: float = 0.5
) -> tuple[list[RoutingItem], list[RoutingItem]]:
    """(train, test) by `in_test_split`."""
    train: list[RoutingItem] = []
    test: list[RoutingItem] = []
    for item in items:
        (test if in_test_split(item, seed=seed, test_fraction=test_fraction) else train).append(
            item
        )
    return train, test
