"""Requests into the engine and the results and records it produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
)

from orchestratex.core.text import SafeText, check_text
from orchestratex.core.types import (
    MAX_TOOLS,
    ChatMessage,
    Domain,
    ResponseFormat,
    TokenConfidence,
    TokenUsage,
    ToolCall,
    ToolChoice,
    ToolSpec,
)

MAX_ROUNDS_LIMIT = 10
MAX_PROMPT_CHARS = 100_000
MAX_JUDGES = 5
"""Judges per round, at most; a deployment may allow fewer (settings.max_judges)."""
MAX_MODEL_KEY_CHARS = 200
MAX_ALLOWED_MODELS = 200
MAX_DEADLINE_S = 86_400.0
MAX_BUDGET_USD = 1_000_000.0
MAX_MESSAGES = 1000
"""Messages in one conversation."""
MAX_CONVERSATION_CHARS = 2 * MAX_PROMPT_CHARS
"""Characters of a whole conversation: message texts plus tool-call arguments."""
MAX_STOP = 4
"""Stop sequences per request."""


def _unique(keys: list[str] | None) -> list[str] | None:
    """The keys in their first order, each once (a repeated judge would judge twice)."""
    return None if keys is None else list(dict.fromkeys(keys))


ModelKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_MODEL_KEY_CHARS),
    AfterValidator(check_text),
]
"""A catalog model key as a request names it."""


class GenerationOptions(BaseModel):
    """How the answering model generates: sampling, stop sequences, output format and tools.

    Passed with every generation and revision call of a run; None leaves the provider default.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    stop: list[str] | None = Field(default=None, max_length=MAX_STOP)
    response_format: ResponseFormat | None = None
    tools: list[ToolSpec] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None

    @field_validator("stop")
    @classmethod
    def _short_stops(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not 1 <= len(s) <= 1000 for s in value):
            raise ValueError("each stop sequence has 1 to 1000 characters")
        return value


class Preferences(BaseModel):
    """How the caller trades quality against cost and latency, and what they allow."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    quality_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    cost_weight: float = Field(default=0.25, ge=0.0, le=1.0)
    latency_weight: float = Field(default=0.15, ge=0.0, le=1.0)
    allowed_models: Annotated[list[ModelKey] | None, AfterValidator(_unique)] = Field(
        default=None,
        max_length=MAX_ALLOWED_MODELS,
        description="catalog keys the run may use (repeats are dropped); None allows every model",
    )
    budget_usd: float | None = Field(
        default=None, gt=0.0, le=MAX_BUDGET_USD, description="hard cap for the run"
    )


class OrchestrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    prompt: SafeText = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    system: SafeText | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    max_rounds: int = Field(default=3, ge=1, le=MAX_ROUNDS_LIMIT)
    threshold: float = Field(default=8.0, ge=0.0, le=10.0)
    preferences: Preferences = Field(default_factory=Preferences)
    model: ModelKey | None = Field(default=None, description="force this model; skips selection")
    judges: Annotated[list[ModelKey] | None, AfterValidator(_unique)] = Field(
        default=None,
        max_length=MAX_JUDGES,
        description="judge models for every round (repeats are dropped); None lets the engine "
        "pick `judge_count` of them. A deployment may allow fewer (settings.max_judges).",
    )
    judge_count: int = Field(
        default=2, ge=0, le=MAX_JUDGES, description="judges per round; 0: answers are not judged"
    )
    deadline_s: float | None = Field(default=None, gt=0.0, le=MAX_DEADLINE_S)
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    messages: list[ChatMessage] | None = Field(
        default=None,
        max_length=MAX_MESSAGES,
        description="the whole conversation the answering model gets; None: system + prompt. "
        "`prompt` and `system` still describe it to analysis and the judges",
    )
    options: GenerationOptions = Field(default_factory=GenerationOptions)
    stream_answers: bool = Field(
        default=True,
        description="stream each answer from the model token by token (live chunks); False "
        "fetches it whole (one chunk event), cheaper when nobody watches it live",
    )

    @field_validator("messages")
    @classmethod
    def _bounded_conversation(cls, value: list[ChatMessage] | None) -> list[ChatMessage] | None:
        if value is None:
            return None
        texts = [m.content for m in value] + [c.arguments for m in value for c in m.tool_calls]
        if sum(len(t) for t in texts) > MAX_CONVERSATION_CHARS:
            raise ValueError(f"the conversation is longer than {MAX_CONVERSATION_CHARS} characters")
        for text in texts:
            check_text(text)
        return value


class Analysis(BaseModel):
    domain: Domain
    complexity: float = Field(ge=0.0, le=1.0)
    domain_scores: dict[Domain, float] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)
    elapsed_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class CandidateScore:
    """One model's score in a selection. A slotted dataclass, not a model: selection makes one
    per catalog model for every run, and each stays alive with the run's events (a pydantic
    instance with its field dict and fields-set costs about four times as much). Pydantic
    still validates it where it crosses a boundary (a stored or received event) and
    serialises it (`CANDIDATES`)."""

    model: str
    expected_quality: float
    quality_uncertainty: float
    expected_cost_usd: float
    expected_latency_ms: float
    health: Annotated[float, Field(ge=0.0, le=1.0)]
    score: float
    excluded: Annotated[str | None, Field(description="why it was not eligible")] = None


CANDIDATES: TypeAdapter[list[CandidateScore]] = TypeAdapter(list[CandidateScore])
"""Validates and serialises a selection's candidates (JSON form as a model would have it)."""


class CascadePlan(BaseModel):
    """Start with a cheaper model because selection is unsure the stronger one is needed;
    the first answer's verdict (and its token confidence) decides whether to escalate."""

    start: str = Field(description="the cheaper model that answers first")
    escalate_to: str = Field(description="the stronger model the next round escalates to")
    signal: Literal["router", "router-unknown", "learned-quality"]
    """What was unsure: the router's score near its threshold, a prompt the router calls
    unknown, or the learned per-prompt quality of the two models too close to call."""
    p_strong: float | None = Field(
        default=None, description="P(the stronger model is needed or better), when known"
    )
    indifference: float | None = Field(
        default=None, description="the probability at which the two models tie"
    )
    band: float = Field(ge=0.0, le=0.5)


class SelectionDecision(BaseModel):
    model: str
    reasons: list[str]
    candidates: list[CandidateScore]
    strategy: str = "weighted"
    cascade: CascadePlan | None = Field(
        default=None,
        description='set when the run starts cheap and may escalate (strategy "cascade")',
    )


class RubricScore(BaseModel):
    """A judge's verdict. Scores are 0..10."""

    accuracy: float = Field(ge=0.0, le=10.0)
    completeness: float = Field(ge=0.0, le=10.0)
    clarity: float = Field(ge=0.0, le=10.0)
    relevance: float = Field(ge=0.0, le=10.0)
    overall: float = Field(ge=0.0, le=10.0)
    critique: str = Field(max_length=20_000)
    suggestions: list[str] = Field(default_factory=list, max_length=50)


class JudgeVerdict(BaseModel):
    judge: str
    score: RubricScore | None = None
    weight: float = 1.0
    error: str | None = None
    error_code: str | None = Field(
        default=None, description="the error's code (e.g. budget_exceeded) when it had one"
    )
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    usage: TokenUsage = Field(default_factory=TokenUsage)


class RoundResult(BaseModel):
    round: int = Field(ge=1)
    model: str
    answer: str
    kind: Literal["initial", "revision", "escalation"] = "initial"
    verdicts: list[JudgeVerdict] = Field(default_factory=list)
    score: float | None = Field(default=None, description="aggregate of the verdicts, 0..10")
    cost_usd: float = 0.0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    latency_ms: float = 0.0
    confidence: TokenConfidence | None = Field(
        default=None, description="the answering model's own token confidence, when known"
    )
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="the functions the answer calls (named models only)"
    )


ThreadStatus = Literal["queued", "running", "completed", "failed", "cancelled", "interrupted"]
"""Where a thread stands; the last three of OrchestrationResult's statuses end it."""

StopReason = Literal[
    "threshold", "max_rounds", "unjudged", "plateau", "budget", "deadline", "cancelled", "failed"
]


class OrchestrationResult(BaseModel):
    thread_id: str
    status: Literal["completed", "failed", "cancelled"]
    stop_reason: StopReason
    stop_detail: str | None = Field(
        default=None, description="why the run stopped, in words (e.g. the score that did it)"
    )
    answer: str | None
    best_round: int | None
    score: float | None
    analysis: Analysis | None = None
    selection: SelectionDecision | None = None
    rounds: list[RoundResult] = Field(default_factory=list)
    total_cost_usd: float = 0.0
    usage: TokenUsage = Field(default_factory=TokenUsage)
    elapsed_ms: float = 0.0
    error: str | None = None
