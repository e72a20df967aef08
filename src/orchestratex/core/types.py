"""Messages, completions and token usage: what crosses the model-client boundary."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Domain(StrEnum):
    CODING = "coding"
    CREATIVE = "creative"
    MATH = "math"
    ANALYSIS = "analysis"
    GENERAL = "general"


Role = Literal["system", "user", "assistant", "tool"]

MAX_TOOLS = 128
"""Tool definitions per request (OpenAI's own limit)."""
MAX_TOOL_CALLS = 128
"""Tool calls in one assistant message."""
MAX_ARGUMENTS_CHARS = 100_000
"""Characters of one tool call's JSON arguments."""
MAX_SCHEMA_CHARS = 100_000
"""Characters of one JSON schema (tool parameters or response format), serialised."""
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Function names as the OpenAI and Anthropic APIs accept them."""


def _bounded_schema(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(json.dumps(value, separators=(",", ":"))) > MAX_SCHEMA_CHARS:
        raise ValueError(f"the schema is longer than {MAX_SCHEMA_CHARS} characters")
    return value


class ToolCall(BaseModel):
    """A function call the model asked for; `arguments` is JSON text, as the model wrote it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    arguments: str = Field(default="{}", max_length=MAX_ARGUMENTS_CHARS)


class ToolSpec(BaseModel):
    """A function the model may call; `parameters` is its arguments' JSON schema."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=20_000)
    parameters: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _bounded_schema(value)


class ToolChoice(BaseModel):
    """Whether the model must, may or must not call a tool; `function` names the one to call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["auto", "none", "required", "function"]
    name: str | None = Field(default=None, pattern=TOOL_NAME_PATTERN)

    @model_validator(mode="after")
    def _name_for_function(self) -> ToolChoice:
        if (self.mode == "function") != (self.name is not None):
            raise ValueError("a name is given exactly when mode is 'function'")
        return self


class ResponseFormat(BaseModel):
    """The shape asked of the answer: free text, any JSON object, or JSON matching a schema."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    name: str = Field(default="response", pattern=TOOL_NAME_PATTERN)
    json_schema: dict[str, Any] | None = None
    strict: bool | None = None

    @field_validator("json_schema")
    @classmethod
    def _bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _bounded_schema(value)

    @model_validator(mode="after")
    def _schema_for_json_schema(self) -> ResponseFormat:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("a json_schema is given exactly when type is 'json_schema'")
        return self


class ChatMessage(BaseModel):
    """One turn. Assistant turns may carry tool calls; a `tool` turn answers one of them."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = Field(default=(), max_length=MAX_TOOL_CALLS)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _tool_fields(self) -> ChatMessage:
        if self.tool_calls and self.role != "assistant":
            raise ValueError("only assistant messages carry tool calls")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("a tool_call_id is given exactly on tool messages")
        return self


def _schema_name(schema: dict[str, Any]) -> str:
    title = schema.get("title")
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in title) if title else ""
    return (name if isinstance(title, str) and name.isascii() else "response")[:64] or "response"


class CompletionRequest(BaseModel):
    """One call to one model.

    `json_schema` is the engine's shorthand for "a JSON object of that shape" (the judges use
    it); `response_format` is the caller's full choice. `output_format()` gives the one that
    applies. Sampling options left at None are not sent, so the provider's defaults apply.
    """

    messages: list[ChatMessage]
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    json_schema: dict[str, Any] | None = None
    response_format: ResponseFormat | None = None
    tools: list[ToolSpec] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    stop: list[str] | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    retry_timeouts: bool = Field(
        default=True,
        description="whether the gateway may try again after a timeout; off for a budgeted "
        "call, whose budget hold covers one attempt (a timed-out one may have been billed)",
    )
    purpose: Literal["generate", "judge", "revise", "other"] = "generate"
    logprobs: bool = Field(
        default=False,
        description="ask for the answer's token log-probabilities (adapters whose API has "
        "none ignore it; the engine asks only models whose catalog entry says `logprobs`)",
    )

    def within_output_limit(self, limit: int | None) -> CompletionRequest:
        """This request asking for at most `limit` output tokens, a model's own output limit
        (None: not known, left as asked). A provider refuses more outright, and asking for the
        most it gives is what the caller meant. The one rule admission applies before it holds
        a call's worst case and the gateway before it sends, so both count the same tokens."""
        if limit is None or self.max_tokens <= limit:
            return self
        return self.model_copy(update={"max_tokens": limit})

    def output_format(self) -> ResponseFormat | None:
        """The JSON format asked for, if any (`response_format` first, then `json_schema`)."""
        if self.response_format is not None and self.response_format.type != "text":
            return self.response_format
        if self.json_schema is not None:
            return ResponseFormat(
                type="json_schema",
                name=_schema_name(self.json_schema),
                json_schema=self.json_schema,
                strict=False,
            )
        return None


class TokenUsage(BaseModel):
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class TokenConfidence(BaseModel):
    """How sure the answering model was of its own tokens, from the log-probabilities it
    returned: `mean_logprob` over the answer's tokens, and the least likely token's."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    tokens: int = Field(ge=1)
    mean_logprob: float = Field(le=0.0)
    min_logprob: float = Field(le=0.0)

    @property
    def probability(self) -> float:
        """The geometric mean of the tokens' probabilities (exp of the mean log-prob), 0..1."""
        return math.exp(self.mean_logprob)


class RawCompletion(BaseModel):
    """What a wire adapter returns: the model's text, tool calls and usage, before cost and
    timing. `finish_reason` is normalised: stop, length, tool_calls or content_filter."""

    text: str
    usage: TokenUsage
    finish_reason: str = "stop"
    provider_model: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    confidence: TokenConfidence | None = None
    """From the token log-probabilities, when they were asked for and returned."""


class Completion(BaseModel):
    """A finished call as the engine sees it: text, tool calls, usage, cost and latency."""

    model: str = Field(description="catalog key of the model that answered")
    provider: str
    text: str
    usage: TokenUsage
    cost_usd: float = Field(ge=0.0)
    cost_known: bool = Field(description="False when the model has no known price")
    latency_ms: float = Field(ge=0.0)
    finish_reason: str = "stop"
    attempts: int = Field(default=1, ge=1)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    confidence: TokenConfidence | None = None
    """The model's own token confidence, when the provider returned log-probabilities."""


class TextDelta(BaseModel):
    """A piece of streamed text."""

    text: str


class ToolCallDelta(BaseModel):
    """A piece of a streamed tool call: the first piece of call `index` has its id and name,
    later pieces add to its JSON arguments."""

    index: int = Field(ge=0)
    id: str | None = None
    name: str | None = None
    arguments: str = ""


StreamPart = TextDelta | ToolCallDelta | Completion
"""A stream yields TextDelta/ToolCallDelta items and ends with exactly one Completion."""
