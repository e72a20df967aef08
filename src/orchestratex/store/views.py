"""What the store hands out: plain pydantic records, detached from the database session."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestratex.core.orchestration import ThreadStatus

Bucket = Literal["hour", "day", "week"]


class _FromRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserRecord(_FromRow):
    id: str
    name: str
    api_key_prefix: str
    is_admin: bool
    budget_usd: float | None
    created_at: datetime


class ThreadSummary(_FromRow):
    id: str
    user_id: str | None
    status: ThreadStatus
    prompt_preview: str
    domain: str | None
    complexity: float | None
    selected_model: str | None
    best_round: int | None
    final_score: float | None
    stop_reason: str | None
    total_cost_usd: float
    input_tokens: int
    output_tokens: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    last_seq: int


class ThreadPage(BaseModel):
    items: list[ThreadSummary]
    total: int
    limit: int
    offset: int


class EvaluationDetail(BaseModel):
    judge: str
    accuracy: float | None
    completeness: float | None
    clarity: float | None
    relevance: float | None
    overall: float | None
    weight: float
    error: str | None
    critique: str | None = None
    suggestions: list[str] = Field(default_factory=list)


class RoundDetail(BaseModel):
    round: int
    model: str
    kind: str
    text: str
    input_tokens: int = Field(description="the answer's input tokens (the judges' are in costs)")
    output_tokens: int = Field(description="the answer's output tokens")
    cost_usd: float = Field(
        description="the round's whole cost: its answer and its judges' verdicts, as the run "
        "result's rounds[].cost_usd (a failed call of the round, e.g. before a fallback, is in "
        "costs and the thread's total, not here)"
    )
    answer_cost_usd: float = Field(description="the answer's call alone (cost_usd less judging)")
    latency_ms: float = Field(
        description="the answer's call (the run result's rounds[].latency_ms includes judging)"
    )
    finish_reason: str
    score: float | None
    evaluations: list[EvaluationDetail] = Field(default_factory=list)


class DecisionDetail(_FromRow):
    round: int
    model: str
    strategy: str
    reasons: list[str]
    candidates: list[dict[str, Any]]
    kept_without_escalation: bool | None
    threshold_round: int | None
    final_score: float | None


class CostLine(BaseModel):
    model: str
    purpose: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class ThreadDetail(BaseModel):
    thread: ThreadSummary
    prompt: str | None
    system: str | None
    analysis: dict[str, Any] | None
    request: dict[str, Any] | None
    result: dict[str, Any] | None = Field(default=None, exclude=True)
    """The run's result as stored, its rounds' tool calls included (for the service's own use,
    e.g. `previous_response_id`; not sent: the rounds above say the same)."""
    rounds: list[RoundDetail]
    decisions: list[DecisionDetail]
    improvements: list[dict[str, Any]]
    costs: list[CostLine]


class ModelStatsRow(BaseModel):
    model: str
    domain: str | None
    rounds: int = 0
    mean_score: float | None = None
    mean_latency_ms: float | None = None
    calls: int = 0
    success_rate: float | None = None


class CostByModel(BaseModel):
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float = Field(description="reported costs plus estimates")
    unknown_cost_calls: int = Field(
        description="calls whose cost is not the provider's report: estimated or unpriced"
    )
    estimated_cost_usd: float = Field(
        default=0.0,
        description="the part of cost_usd that is estimated: calls that may have been billed "
        "without a usage report (cut short, timed out, cancelled), at what the budget counted",
    )


class CostBucket(BaseModel):
    start: datetime
    calls: int
    cost_usd: float
    estimated_cost_usd: float = 0.0


class CostReport(BaseModel):
    bucket: Bucket
    total_cost_usd: float
    estimated_cost_usd: float = Field(default=0.0, description="the estimated part of the total")
    by_model: list[CostByModel]
    by_bucket: list[CostBucket]


class SelectionAccuracy(BaseModel):
    decisions: int = Field(
        description="first-round decisions whose run has ended, a fallback's included (a run "
        "whose chosen model failed has two); decisions of a run that ended before its first "
        "answer without failing (cancelled), and requests that named their model (no "
        "selection made), are not counted"
    )
    kept_without_escalation: int = Field(
        description="decisions kept: the run did not fail, the decision's model gave the "
        "round's answer (not replaced by a fallback) and no escalation came after it"
    )
    share_kept: float | None
    threshold_rounds: dict[str, int] = Field(
        description="round at which the threshold was met -> runs; 'never' when it was not"
    )


class UsageReport(BaseModel):
    threads: int
    threads_by_status: dict[str, int]
    calls: int
    successful_calls: int
    success_rate: float | None
    input_tokens: int
    output_tokens: int
    mean_latency_ms: float | None
    p50_latency_ms: float | None


class Dashboard(BaseModel):
    models: list[ModelStatsRow]
    costs: CostReport
    selection: SelectionAccuracy
    usage: UsageReport
