"""The answer's own confidence from the token log-probabilities a provider returned."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from orchestratex.core.types import TokenConfidence

FLOOR = -100.0
"""Log-probs below this (OpenAI reports -9999 for "practically never") count as this."""


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


class TokenLogprobs:
    """Collects per-token log-probabilities (whole, or chunk by chunk from a stream)."""

    __slots__ = ("_count", "_sum", "_min")

    def __init__(self) -> None:
        self._count = 0
        self._sum = 0.0
        self._min = 0.0

    def add(self, logprobs: Any) -> None:
        """Fold in a choice's `logprobs` (its `content` list of tokens), if any: the SDK's
        object, or the same as parsed JSON (dicts)."""
        content: Iterable[Any] | None = _field(logprobs, "content")
        for token in content or ():
            value = _field(token, "logprob")
            if not isinstance(value, int | float) or math.isnan(value):
                continue
            value = min(max(float(value), FLOOR), 0.0)
            self._count += 1
            self._sum += value
            self._min = min(self._min, value)

    def confidence(self) -> TokenConfidence | None:
        """Mean and least token log-prob; None when no token came with one."""
        if self._count == 0:
            return None
        return TokenConfidence(
            tokens=self._count, mean_logprob=self._sum / self._count, min_logprob=self._min
        )
