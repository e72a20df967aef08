"""Messages, completions and token usage: what crosses the model-client boundary."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Domain(StrEnum):
    CODING = "coding"
    CREATIVE = "creative"
    MATH = "math"
    ANALYSIS = "analysis"
    GENERAL = "general"


Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class CompletionRequest(BaseModel):
    """One call to one model. `json_schema`, when set, asks for a JSON object of that shape."""

    messages: list[ChatMessage]
    max_tokens: int = Field(default=1024, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    json_schema: dict[str, Any] | None = None
    stop: list[str] | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    purpose: Literal["generate", "judge", "revise", "other"] = "generate"


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


class RawCompletion(BaseModel):
    """What a wire adapter returns: the model's text and usage, before cost and timing."""

    text: str
    usage: TokenUsage
    finish_reason: str = "stop"
    provider_model: str = ""


class Completion(BaseModel):
    """A finished call as the engine sees it: text, usage, cost and latency."""

    model: str = Field(description="catalog key of the model that answered")
    provider: str
    text: str
    usage: TokenUsage
    cost_usd: float = Field(ge=0.0)
    cost_known: bool = Field(description="False when the model has no known price")
    latency_ms: float = Field(ge=0.0)
    finish_reason: str = "stop"
    attempts: int = Field(default=1, ge=1)


class TextDelta(BaseModel):
    """A piece of streamed text."""

    text: str


StreamPart = TextDelta | Completion
"""A stream yields TextDelta items and ends with exactly one Completion."""
