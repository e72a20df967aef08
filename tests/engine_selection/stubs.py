"""Given router verdicts and learned qualities, for selection tests (the selector only reads
`assess` and `estimates`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestratex.engine.estimates import QualityEstimate
from orchestratex.engine.router import RouterVerdict


@dataclass
class FixedRouter:
    """A router whose verdict is given (the selector only reads `assess`)."""

    verdict: RouterVerdict

    def assess(self, prompt: str) -> RouterVerdict:
        return self.verdict

    def strong_scores(self, prompts: Sequence[str]) -> list[float]:
        return [self.verdict.score for _ in prompts]


@dataclass
class FixedQuality:
    """Learned per-prompt quality, given per model."""

    table: dict[str, QualityEstimate]

    def estimates(self, prompt: str) -> dict[str, QualityEstimate]:
        return dict(self.table)
