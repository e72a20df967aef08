"""What the product knows about providers and models, as data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from orchestratex.core.types import Domain

WireProtocol = Literal["openai", "anthropic", "replay"]


class ProviderSpec(BaseModel):
    """How to reach one provider. The key itself is never stored here, only where to read it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    protocol: WireProtocol = "openai"
    base_url: HttpUrl | None = None
    api_key_env: str | None = Field(
        default=None, description="environment variable holding the key (None: no key needed)"
    )
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    max_concurrent: int | None = Field(
        default=None,
        ge=1,
        description="calls open at once to this provider from one process (None: no cap); "
        "more wait their turn within their timeout",
    )
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    price_provider_id: str | None = Field(
        default=None, description="provider id in genai-prices, when it differs from `name`"
    )


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    source: str = "config"


class ModelSpec(BaseModel):
    """One model of the catalog, known by its `key` (unique across providers)."""

    model_config = ConfigDict(extra="forbid")

    key: str
    family: str = Field(description="gpt, claude, grok, qwen, llama, mistral, ... ")
    provider: str
    model_id: str = Field(description="the id the provider's API expects")
    context_window: int = Field(ge=1)
    max_output_tokens: int | None = Field(
        default=None,
        ge=1,
        description="the most output tokens the provider lets one call ask for (None: not "
        "known); calls asking for more are sent asking for this many",
    )
    specialties: dict[Domain, float] = Field(
        default_factory=dict, description="prior expected quality per domain, 0..1"
    )
    typical_latency_ms: float = Field(default=2000.0, gt=0)
    tier: Literal["small", "medium", "large"] = "medium"
    price: Price | None = Field(
        default=None, description="override; otherwise looked up in genai-prices"
    )
    price_lookup_id: str | None = Field(
        default=None, description="model id to look up in genai-prices, when it differs"
    )
    enabled: bool = True
    logprobs: bool = Field(
        default=False,
        description="the provider returns token log-probabilities for this model when asked "
        "(OpenAI-compatible `logprobs`); used as the answer's own confidence",
    )

    def specialty(self, domain: Domain) -> float:
        return self.specialties.get(domain, self.specialties.get(Domain.GENERAL, 0.5))


def output_limits_of(models: Iterable[ModelSpec]) -> dict[str, int | None]:
    """Each model's own output limit by key (None: not known), what admission needs to hold a
    call at the `max_tokens` the gateway will send."""
    return {m.key: m.max_output_tokens for m in models}
