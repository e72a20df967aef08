"""The mutable state of one run: rounds so far, spending, and how to build its result."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from orchestratex.core.orchestration import (
    Analysis,
    OrchestrationRequest,
    OrchestrationResult,
    RoundResult,
    SelectionDecision,
    StopReason,
)
from orchestratex.core.performance import PerformanceStats
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import TokenUsage
from orchestratex.engine.admission import CallGate
from orchestratex.engine.emitter import Emitter
from orchestratex.engine.evaluation import CallRecord

SCORE_MISSING = "no judge returned a valid verdict: the score is missing"


@dataclass(frozen=True, slots=True)
class GenerationCall:
    round: int
    model: str
    success: bool
    latency_ms: float
    cost_usd: float


@dataclass(frozen=True, slots=True)
class Spent:
    """What earlier attempts of a run recorded: every call's cost and tokens, those of a
    round they did not finish included (in the service: the thread's usage records)."""

    cost_usd: float
    usage: TokenUsage


def best_round(rounds: Sequence[RoundResult]) -> RoundResult | None:
    """The round with the highest score (ties: the earlier); without any score, the first."""
    best: RoundResult | None = None
    for r in rounds:
        if best is None or r.score is not None and (best.score is None or r.score > best.score):
            best = r
    return best


@dataclass
class RunState:
    request: OrchestrationRequest
    thread_id: str
    user_id: str | None
    emitter: Emitter
    client: ModelClient
    """The run's gated client: every call it makes passes the run's admission gate."""
    gate: CallGate | None = None
    """That admission gate (to ask whether a call could be admitted before planning it)."""
    started_at: float = field(default_factory=time.monotonic)
    rounds: list[RoundResult] = field(default_factory=list)
    resumed: int = 0
    pending: RoundResult | None = None
    analysis: Analysis | None = None
    selection: SelectionDecision | None = None
    performance: list[PerformanceStats] = field(default_factory=list)
    usage: TokenUsage = field(default_factory=TokenUsage)
    cost: float = 0.0
    error: str | None = None
    error_code: str = "failed"
    generations: list[GenerationCall] = field(default_factory=list)
    work: asyncio.Task[OrchestrationResult] | None = None
    cancel_requested: bool = False
    finishing: bool = False

    def resume(self, rounds: Sequence[RoundResult], spent: Spent | None = None) -> None:
        """Start from rounds of an earlier run. What the earlier attempts spent counts toward
        this one (its total and its budget): `spent` when it was recorded, calls of a round
        they did not finish included; else the rounds' own cost and usage."""
        self.rounds.extend(rounds)
        self.resumed = len(rounds)
        if spent is not None:
            self.cost += spent.cost_usd
            self.usage = self.usage + spent.usage
            return
        for r in rounds:
            self.cost += r.cost_usd
            self.usage = self.usage + r.usage

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started_at

    def request_cancel(self) -> None:
        if self.finishing:
            return
        self.cancel_requested = True
        if self.work is not None:
            self.work.cancel()

    def add_call(
        self, call: CallRecord, purpose: Literal["generate", "judge", "revise"], n: int
    ) -> None:
        self.cost += call.cost_usd
        self.usage = self.usage + call.usage
        if purpose != "judge":
            self.generations.append(
                GenerationCall(n, call.model, call.success, call.latency_ms, call.cost_usd)
            )

    @property
    def judged(self) -> bool:
        """Whether the run's answers are judged at all (judge_count 0 and no judges: not)."""
        return self.request.judge_count > 0 or bool(self.request.judges)

    def best(self) -> RoundResult | None:
        return best_round(self.rounds)

    def result(
        self,
        status: Literal["completed", "failed", "cancelled"],
        stop_reason: StopReason,
        *,
        error: str | None = None,
        detail: str | None = None,
    ) -> OrchestrationResult:
        rounds = [*self.rounds, *([self.pending] if self.pending is not None else [])]
        best = best_round(rounds)
        missing = best is not None and best.score is None and self.judged
        if status == "completed" and missing and error is None:
            error = SCORE_MISSING
        return OrchestrationResult(
            thread_id=self.thread_id,
            status=status,
            stop_reason=stop_reason,
            stop_detail=detail,
            answer=best.answer if best else None,
            best_round=best.round if best else None,
            score=best.score if best else None,
            analysis=self.analysis,
            selection=self.selection,
            rounds=rounds,
            total_cost_usd=self.cost,
            usage=self.usage,
            elapsed_ms=self.elapsed_s * 1000.0,
            error=error,
        )
