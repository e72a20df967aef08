"""Labelled prompts for measuring prompt analysis, built from the shared RouteLLM data.

Labels (documented in docs/benchmarks.md):
- MT-Bench turn 1: writing, roleplay -> creative; math -> math; coding -> coding;
  reasoning, extraction, humanities -> analysis; stem -> general.
- GSM8K test questions -> math.
- MMLU by subject, see ``MMLU_SUBJECT_DOMAINS``.

The set is split into a dev half and a test half by a hash of source and prompt, so the
split is deterministic and independent of file order.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestratex.core.types import Domain

DEFAULT_DATA_DIR = Path("../shared/data/routellm")

Split = Literal["dev", "test"]

MT_BENCH_CATEGORY_DOMAINS: dict[str, Domain] = {
    "writing": Domain.CREATIVE,
    "roleplay": Domain.CREATIVE,
    "math": Domain.MATH,
    "coding": Domain.CODING,
    "reasoning": Domain.ANALYSIS,
    "extraction": Domain.ANALYSIS,
    "humanities": Domain.ANALYSIS,
    "stem": Domain.GENERAL,
}

_MATH = Domain.MATH
_CODE = Domain.CODING
_ANALYSIS = Domain.ANALYSIS
_GENERAL = Domain.GENERAL

MMLU_SUBJECT_DOMAINS: dict[str, Domain] = {
    # calculation-heavy mathematics and physical-science subjects
    "abstract_algebra": _MATH,
    "college_mathematics": _MATH,
    "college_physics": _MATH,
    "college_chemistry": _MATH,
    "electrical_engineering": _MATH,
    # programming
    "high_school_computer_science": _CODE,
    # logic, law, ethics, economics, business, policy: reasoning over arguments and cases
    "formal_logic": _ANALYSIS,
    "logical_fallacies": _ANALYSIS,
    "moral_disputes": _ANALYSIS,
    "professional_law": _ANALYSIS,
    "international_law": _ANALYSIS,
    "security_studies": _ANALYSIS,
    "us_foreign_policy": _ANALYSIS,
    "high_school_macroeconomics": _ANALYSIS,
    "high_school_microeconomics": _ANALYSIS,
    "management": _ANALYSIS,
    # factual knowledge: natural and health sciences, history, geography, psychology, religion
    "astronomy": _GENERAL,
    "clinical_knowledge": _GENERAL,
    "conceptual_physics": _GENERAL,
    "high_school_biology": _GENERAL,
    "high_school_geography": _GENERAL,
    "high_school_psychology": _GENERAL,
    "high_school_us_history": _GENERAL,
    "human_aging": _GENERAL,
    "medical_genetics": _GENERAL,
    "nutrition": _GENERAL,
    "prehistory": _GENERAL,
    "professional_psychology": _GENERAL,
    "world_religions": _GENERAL,
}


@dataclass(frozen=True, slots=True)
class LabelledPrompt:
    """One prompt with its expected domain; ``group`` is the MT-Bench category or MMLU subject."""

    source: Literal["mt_bench", "gsm8k", "mmlu"]
    group: str
    prompt: str
    domain: Domain
    split: Split


def split_of(source: str, prompt: str) -> Split:
    """Deterministic half split by a hash of source and prompt."""
    digest = hashlib.sha256(f"{source}\0{prompt}".encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def _mt_bench(data_dir: Path) -> list[LabelledPrompt]:
    out: list[LabelledPrompt] = []
    with (data_dir / "mt_bench" / "question.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            category = str(row["category"])
            prompt = str(row["turns"][0])
            domain = MT_BENCH_CATEGORY_DOMAINS[category]
            out.append(
                LabelledPrompt("mt_bench", category, prompt, domain, split_of("mt_bench", prompt))
            )
    return out


def _gsm8k(data_dir: Path) -> list[LabelledPrompt]:
    out: list[LabelledPrompt] = []
    with (data_dir / "gsm8k" / "test.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            prompt = str(json.loads(line)["question"])
            out.append(
                LabelledPrompt("gsm8k", "gsm8k", prompt, Domain.MATH, split_of("gsm8k", prompt))
            )
    return out


def _mmlu(data_dir: Path) -> list[LabelledPrompt]:
    out: list[LabelledPrompt] = []
    for path in sorted((data_dir / "mmlu" / "responses").glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        domain = MMLU_SUBJECT_DOMAINS.get(subject)
        if domain is None:
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                prompt = row["prompt"]
                out.append(
                    LabelledPrompt("mmlu", subject, prompt, domain, split_of("mmlu", prompt))
                )
    return out


def load_analysis_set(data_dir: Path | str = DEFAULT_DATA_DIR) -> list[LabelledPrompt]:
    """Read the labelled set from ``data_dir``; raises FileNotFoundError if it is absent."""
    root = Path(data_dir)
    if not (root / "mt_bench" / "question.jsonl").is_file():
        raise FileNotFoundError(f"RouteLLM data not found under {root}")
    return _mt_bench(root) + _gsm8k(root) + _mmlu(root)
