"""A small test catalog shaped like the built-in one (families, tiers, prices)."""

from __future__ import annotations

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.orchestration import Analysis
from orchestratex.core.types import Domain

C, W, M, A, G = Domain.CODING, Domain.CREATIVE, Domain.MATH, Domain.ANALYSIS, Domain.GENERAL


def spec(
    key: str,
    family: str,
    tier: str,
    scores: tuple[float, float, float, float, float],
    latency_ms: float = 3000.0,
    enabled: bool = True,
) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "key": key,
            "family": family,
            "provider": family,
            "model_id": key,
            "context_window": 128_000,
            "tier": tier,
            "typical_latency_ms": latency_ms,
            "specialties": dict(zip((C, W, M, A, G), scores, strict=True)),
            "enabled": enabled,
        }
    )


MODELS: list[ModelSpec] = [
    spec("gpt-4o", "gpt", "large", (0.82, 0.80, 0.72, 0.82, 0.84), 3500),
    spec("gpt-4o-mini", "gpt", "small", (0.68, 0.68, 0.60, 0.66, 0.72), 2500),
    spec("claude-sonnet", "claude", "large", (0.90, 0.82, 0.74, 0.86, 0.84), 5000),
    spec("claude-haiku", "claude", "small", (0.70, 0.66, 0.58, 0.66, 0.70), 2000),
    spec("grok-3", "grok", "large", (0.80, 0.78, 0.76, 0.80, 0.82), 4000),
    spec("grok-3-mini", "grok", "small", (0.66, 0.60, 0.74, 0.64, 0.66), 3000),
    spec("mistral-small", "mistral", "small", (0.62, 0.64, 0.56, 0.62, 0.66), 1500),
]

PRICES: dict[str, Price | None] = {
    "gpt-4o": Price(input_per_mtok=2.5, output_per_mtok=10.0),
    "gpt-4o-mini": Price(input_per_mtok=0.15, output_per_mtok=0.6),
    "claude-sonnet": Price(input_per_mtok=3.0, output_per_mtok=15.0),
    "claude-haiku": Price(input_per_mtok=0.8, output_per_mtok=4.0),
    "grok-3": Price(input_per_mtok=3.0, output_per_mtok=15.0),
    "grok-3-mini": Price(input_per_mtok=0.3, output_per_mtok=0.5),
    "mistral-small": Price(input_per_mtok=0.1, output_per_mtok=0.3),
}

EXTRA: list[ModelSpec] = [
    spec("llama-70b", "llama", "large", (0.74, 0.72, 0.66, 0.72, 0.76), 1200),
    spec("llama-8b", "llama", "small", (0.56, 0.58, 0.48, 0.55, 0.60), 600),
    spec("qwen-max", "qwen", "large", (0.80, 0.74, 0.76, 0.78, 0.80), 4500),
    spec("qwen-coder", "qwen", "medium", (0.84, 0.55, 0.66, 0.66, 0.66), 2500),
    spec("mistral-large", "mistral", "large", (0.78, 0.76, 0.70, 0.78, 0.80), 3500),
]

EXTRA_PRICES: dict[str, Price | None] = {
    "llama-70b": Price(input_per_mtok=0.59, output_per_mtok=0.79),
    "llama-8b": Price(input_per_mtok=0.05, output_per_mtok=0.08),
    "qwen-max": Price(input_per_mtok=1.6, output_per_mtok=6.4),
    "qwen-coder": None,
    "mistral-large": Price(input_per_mtok=2.0, output_per_mtok=6.0),
}


def analysis(domain: Domain = C, complexity: float = 0.5) -> Analysis:
    return Analysis(domain=domain, complexity=complexity)
