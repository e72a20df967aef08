"""What selection and evaluation learn from: recorded performance per model and domain, each
judge's agreement record, and live health."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from orchestratex.core.types import Domain


class PerformanceStats(BaseModel):
    """Aggregated history of one model in one domain. Scores are 0..10 judge aggregates."""

    model: str
    domain: Domain
    samples: int = Field(ge=0)
    mean_score: float = Field(ge=0.0, le=10.0)
    score_variance: float = Field(default=0.0, ge=0.0)
    successes: int = Field(default=0, ge=0)
    failures: int = Field(default=0, ge=0)
    mean_latency_ms: float = Field(default=0.0, ge=0.0)
    mean_cost_usd: float = Field(default=0.0, ge=0.0)


class PerformanceSource(Protocol):
    """Where selection reads history from (the store in the service, memory in the library)."""

    async def performance(self) -> Sequence[PerformanceStats]: ...


class JudgeRecord(BaseModel):
    """One judge's track record: its scored verdicts and the sum of their agreements with the
    other judges of the same evaluation (`agreements`), each 0..1."""

    judge: str
    verdicts: int = Field(ge=0)
    agreement_sum: float = Field(ge=0.0)


class JudgeRecordSource(Protocol):
    """Where evaluation reads the judges' records from (the store in the service, memory in the
    library)."""

    async def judge_records(self) -> Sequence[JudgeRecord]: ...


def agreements(scored: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """Each (judge, overall score) of one evaluation with its agreement with the others:
    `1 - |score - mean of the others| / 10`. Empty with fewer than two scores."""
    if len(scored) < 2:
        return []
    total = sum(score for _, score in scored)
    out = []
    for judge, score in scored:
        consensus = (total - score) / (len(scored) - 1)
        out.append((judge, 1.0 - min(abs(score - consensus), 10.0) / 10.0))
    return out


HEALTH_FLOOR = 0.05
"""The lowest health score of a model whose circuit is closed (see ModelHealth.score)."""


class ModelHealth(BaseModel):
    """Live view of a model's provider, kept by the gateway."""

    model: str
    provider: str
    circuit: Literal["closed", "open", "half_open"] = "closed"
    circuit_calls: int = Field(
        default=0,
        ge=0,
        description="closed: calls in the breaker's window (those that tell of the provider's "
        "health); half-open: probes that succeeded",
    )
    circuit_failures: int = Field(
        default=0, ge=0, description="closed: failed calls in the breaker's window"
    )
    circuit_retry_in_s: float | None = Field(
        default=None, ge=0.0, description="open: seconds until probe calls are let through"
    )
    recent_success_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    recent_calls: int = Field(default=0, ge=0)
    latency_p50_ms: float | None = None
    configured: bool = Field(default=True, description="its provider has the key it needs")
    last_error: str | None = Field(
        default=None,
        description="the code of the latest failure (never its text: it may quote a request)",
    )

    @property
    def score(self) -> float:
        """0..1: 0 (not selectable) only when the circuit is open or the provider is not
        configured; otherwise the recent success rate, never under HEALTH_FLOOR, so a model
        whose few recent calls failed is ranked down but can still be chosen (and probed):
        whether it is down is its breaker's decision."""
        if not self.configured or self.circuit == "open":
            return 0.0
        base = max(self.recent_success_rate, HEALTH_FLOOR) if self.recent_calls else 1.0
        return base * (0.5 if self.circuit == "half_open" else 1.0)


class HealthSource(Protocol):
    def health(self) -> dict[str, ModelHealth]: ...
