"""The event vocabulary: every step of a run is one typed event.

Each event carries the thread it belongs to, a sequence number (gap-free from 1 within a thread)
and a timestamp. Consumers (store, WebSocket, SSE, CLI, metrics) subscribe; the engine never
knows who listens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from orchestratex.core.orchestration import (
    Analysis,
    JudgeVerdict,
    OrchestrationRequest,
    OrchestrationResult,
    SelectionDecision,
    StopReason,
)
from orchestratex.core.types import TokenConfidence, TokenUsage, ToolCall


def utc_now() -> datetime:
    return datetime.now(UTC)


class EventBase(BaseModel):
    thread_id: str
    seq: int = Field(ge=1)
    ts: datetime = Field(default_factory=utc_now)


class StartedEvent(EventBase):
    type: Literal["started"] = "started"
    request: OrchestrationRequest
    user_id: str | None = None


class AnalysisEvent(EventBase):
    type: Literal["analysis"] = "analysis"
    analysis: Analysis


class SelectionEvent(EventBase):
    type: Literal["selection"] = "selection"
    decision: SelectionDecision
    round: int = 1


class ResponseChunkEvent(EventBase):
    type: Literal["response_chunk"] = "response_chunk"
    round: int
    model: str
    text: str


class ModelCallEvent(EventBase):
    """One finished call to a model (generation, judging or revision): the usage record."""

    type: Literal["model_call"] = "model_call"
    round: int
    model: str
    provider: str
    purpose: Literal["generate", "judge", "revise", "other"]
    usage: TokenUsage
    cost_usd: float
    cost_known: bool = True
    """False when `cost_usd` is not the provider's reported cost: an estimate, for a call that
    may have been billed without a usage report (cut short, timed out, cancelled: what the
    admission gate counted), or 0 for a model without a price."""
    latency_ms: float
    success: bool = True
    error: str | None = None


class ResponseEvent(EventBase):
    type: Literal["response"] = "response"
    round: int
    model: str
    kind: Literal["initial", "revision", "escalation"]
    text: str
    usage: TokenUsage
    cost_usd: float
    latency_ms: float
    finish_reason: str = "stop"
    tool_calls: list[ToolCall] = Field(default_factory=list)
    confidence: TokenConfidence | None = Field(
        default=None,
        description="the model's own token confidence, when its provider returned log-probs",
    )


class EvaluationEvent(EventBase):
    type: Literal["evaluation"] = "evaluation"
    round: int
    model: str = Field(description="the model whose answer was judged")
    verdicts: list[JudgeVerdict]
    score: float | None = Field(description="aggregate over the judges that answered")


class ImprovementEvent(EventBase):
    type: Literal["improvement"] = "improvement"
    round: int = Field(description="the round about to be produced")
    from_model: str
    to_model: str
    strategy: Literal["revise", "escalate"]
    reason: str
    previous_score: float | None


class CompletedEvent(EventBase):
    type: Literal["completed"] = "completed"
    result: OrchestrationResult


class FailedEvent(EventBase):
    type: Literal["failed"] = "failed"
    error: str
    code: str = "error"
    result: OrchestrationResult | None = None


class CancelledEvent(EventBase):
    type: Literal["cancelled"] = "cancelled"
    reason: StopReason = "cancelled"
    result: OrchestrationResult | None = None


Event = Annotated[
    StartedEvent
    | AnalysisEvent
    | SelectionEvent
    | ResponseChunkEvent
    | ModelCallEvent
    | ResponseEvent
    | EvaluationEvent
    | ImprovementEvent
    | CompletedEvent
    | FailedEvent
    | CancelledEvent,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
TERMINAL_TYPES = frozenset({"completed", "failed", "cancelled"})


def parse_event(data: str | bytes) -> Event:
    """Parse one event from its JSON form."""
    return EVENT_ADAPTER.validate_json(data)


def is_terminal(event: EventBase) -> bool:
    return getattr(event, "type", "") in TERMINAL_TYPES
