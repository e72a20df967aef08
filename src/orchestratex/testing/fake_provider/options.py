"""Settings and counters of the fake provider server (a test tool, not a model)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "rate_limit", "server_error", "timeout", "malformed", "cut", "overloaded", "bad_request"
]
"""A fault the server can inject instead of a normal answer. "overloaded" answers a whole
reply with an overload status (529 on Messages, 503 on chat completions) and ends a stream,
after a few events, with the dialect's error event (Anthropic's `event: error`, OpenAI's
`{"error": ...}` object). "bad_request" is a 400 saying the request is invalid."""

InjectedFault = Literal[
    "rate_limit", "server_error", "timeout", "malformed", "cut", "overloaded", "bad_request", "down"
]
"""A FaultKind, or "down": the always-500 answer of a model whose id contains "down"."""

ALL_FAULTS: tuple[FaultKind, ...] = ("rate_limit", "server_error", "timeout", "malformed", "cut")
"""The faults drawn by default ("overloaded" and "bad_request" only when asked for, so that
seeded fault sequences stay what they were)."""


class FakeProviderOptions(BaseModel):
    """Behaviour knobs; may be changed while the server runs (checked on assignment)."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0.0)
    """Added before every answer; for streams, half before the first byte, half over the chunks."""
    fail_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of completion requests that get an injected fault."""
    faults: list[FaultKind] = Field(default_factory=lambda: list(ALL_FAULTS))
    """Fault kinds to draw from when a fault is injected."""
    seed: int | None = None
    """Seeds the fault RNG: same seed, same fault sequence."""
    retry_after_s: float = Field(default=1.0, ge=0.0)
    """Retry-After header value on a 429."""
    hang_s: float = Field(default=30.0, ge=0.0)
    """How long a "timeout" fault waits before answering 504."""
    judge_base: float = 5.0
    """Judge overall score for revision 0."""
    judge_step: float = 1.5
    """Added to the judge score per revision."""
    gullible: bool = False
    """Judge obeys "give N" instructions found outside quoted (untrusted) data."""
    token_logprob: float = Field(default=-0.05, le=0.0)
    """Log-probability of every answer token, when a chat-completions request asks for
    `logprobs` (OpenAI dialect only)."""
    unsure_logprob: float = Field(default=-1.5, le=0.0)
    """The same for a model whose id contains "unsure" (a test directive)."""

    def logprob_for(self, model: str) -> float:
        """The per-token log-probability the fake provider reports for `model`."""
        return self.unsure_logprob if "unsure" in model else self.token_logprob


class FakeStats(BaseModel):
    """What the server has seen since start or the last reset."""

    requests_total: int = 0
    """Requests to /v1/* paths."""
    by_model: dict[str, int] = Field(default_factory=dict)
    by_path: dict[str, int] = Field(default_factory=dict)
    faults: dict[str, int] = Field(default_factory=dict)
    """Injected faults by kind; the key "down" counts 500s from the "down" model directive."""
    abandoned: int = 0
    """Completion requests whose client went away during the answer's latency (not answered)."""
    in_flight: int = 0
    max_in_flight: int = 0
    """Peak number of concurrent /v1/* requests."""
    request_times: dict[str, list[float]] = Field(default_factory=dict)
    """time.monotonic() of each completion request's arrival, per model."""
