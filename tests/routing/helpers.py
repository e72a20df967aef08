"""Shared pieces of the routing tests: the real data location and synthetic prompts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "routellm"
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "gsm8k" / "gsm8k_responses.csv").is_file(),
    reason="shared RouteLLM data absent",
)

_FILLER = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "it",
    "this",
    "that",
    "be",
    "are",
    "was",
]


def synthetic(n: int, seed: int = 0) -> tuple[list[str], list[float]]:
    """Prompts that need the strong model iff they mention 'proof' (separable by one word)."""
    rng = random.Random(seed)
    prompts: list[str] = []
    targets: list[float] = []
    for i in range(n):
        hard = i % 2 == 0
        words = rng.choices(_FILLER, k=12) + ["proof" if hard else "hello"]
        rng.shuffle(words)
        prompts.append(" ".join(words))
        targets.append(1.0 if hard else 0.0)
    return prompts, targets
