"""A catalog of six test models, one per family, served by the fake provider server.

The five on the OpenAI dialect say `logprobs`: the fake server returns token log-probabilities
when asked (fixed per token; lower for a model id containing "unsure")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.types import Domain
from orchestratex.providers.catalog import Catalog, load_catalog

FAKE_OPENAI = "fake-openai"
FAKE_ANTHROPIC = "fake-anthropic"

_C, _R, _M, _A, _G = Domain.CODING, Domain.CREATIVE, Domain.MATH, Domain.ANALYSIS, Domain.GENERAL

FAKE_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="fake-gpt",
        family="gpt",
        provider=FAKE_OPENAI,
        model_id="fake-gpt-large",
        context_window=128_000,
        specialties={_C: 0.86, _R: 0.75, _M: 0.82, _A: 0.84, _G: 0.85},
        typical_latency_ms=1800,
        tier="large",
        price=Price(input_per_mtok=2.5, output_per_mtok=10.0, source="fake"),
    ),
    ModelSpec(
        key="fake-claude",
        family="claude",
        provider=FAKE_ANTHROPIC,
        model_id="fake-claude-large",
        context_window=200_000,
        max_output_tokens=8192,
        specialties={_C: 0.9, _R: 0.86, _M: 0.78, _A: 0.9, _G: 0.84},
        typical_latency_ms=2200,
        tier="large",
        price=Price(input_per_mtok=3.0, output_per_mtok=15.0, source="fake"),
    ),
    ModelSpec(
        key="fake-grok",
        family="grok",
        provider=FAKE_OPENAI,
        model_id="fake-grok-medium",
        context_window=128_000,
        specialties={_C: 0.74, _R: 0.72, _M: 0.88, _A: 0.8, _G: 0.76},
        typical_latency_ms=1500,
        tier="medium",
        price=Price(input_per_mtok=2.0, output_per_mtok=8.0, source="fake"),
    ),
    ModelSpec(
        key="fake-qwen",
        family="qwen",
        provider=FAKE_OPENAI,
        model_id="fake-qwen-medium",
        context_window=64_000,
        specialties={_C: 0.84, _R: 0.6, _M: 0.83, _A: 0.7, _G: 0.7},
        typical_latency_ms=1200,
        tier="medium",
        price=Price(input_per_mtok=0.4, output_per_mtok=1.2, source="fake"),
    ),
    ModelSpec(
        key="fake-llama",
        family="llama",
        provider=FAKE_OPENAI,
        model_id="fake-llama-small",
        context_window=32_000,
        specialties={_C: 0.6, _R: 0.66, _M: 0.5, _A: 0.6, _G: 0.66},
        typical_latency_ms=600,
        tier="small",
        price=Price(input_per_mtok=0.1, output_per_mtok=0.3, source="fake"),
    ),
    ModelSpec(
        key="fake-mistral",
        family="mistral",
        provider=FAKE_OPENAI,
        model_id="fake-mistral-small",
        context_window=32_000,
        specialties={_C: 0.66, _R: 0.74, _M: 0.55, _A: 0.64, _G: 0.7},
        typical_latency_ms=800,
        tier="small",
        price=Price(input_per_mtok=0.2, output_per_mtok=0.6, source="fake"),
    ),
)


def fake_catalog(
    openai_base_url: str,
    anthropic_base_url: str | None = None,
    *,
    models: Sequence[str] | None = None,
    down: Sequence[str] = (),
    badjudge: Sequence[str] = (),
    unsure: Sequence[str] = (),
    extra_models: Sequence[ModelSpec] = (),
    provider_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    timeout_s: float = 10.0,
    max_retries: int = 2,
) -> Catalog:
    """Providers "fake-openai" and "fake-anthropic" at the fake server, and its test models.

    `models` keeps only those keys (default: all six); keys in `down` get a model id the fake
    server always fails (HTTP 500), keys in `badjudge` one whose judge answers are prose, keys in
    `unsure` one whose token log-probabilities are low.
    `anthropic_base_url` defaults to `openai_base_url` without its "/v1" suffix.
    """
    if anthropic_base_url is None:
        anthropic_base_url = openai_base_url.removesuffix("/").removesuffix("/v1")
    known = {m.key for m in FAKE_MODELS}
    unknown = sorted({*(models or ()), *down, *badjudge, *unsure} - known)
    if unknown:
        raise ValueError(f"not fake models: {', '.join(unknown)}")
    chosen: list[ModelSpec] = []
    for spec in FAKE_MODELS:
        if models is not None and spec.key not in models:
            continue
        model_id = spec.model_id
        if spec.key in down:
            model_id += "-down"
        if spec.key in badjudge:
            model_id += "-badjudge"
        if spec.key in unsure:
            model_id += "-unsure"
        logprobs = spec.provider == FAKE_OPENAI
        chosen.append(spec.model_copy(update={"model_id": model_id, "logprobs": logprobs}))
    common: dict[str, Any] = {"timeout_s": timeout_s, "max_retries": max_retries}
    overrides: dict[str, dict[str, Any]] = {
        FAKE_OPENAI: {"protocol": "openai", "base_url": openai_base_url, **common},
        FAKE_ANTHROPIC: {"protocol": "anthropic", "base_url": anthropic_base_url, **common},
    }
    for name, changes in (provider_overrides or {}).items():
        overrides.setdefault(name, {}).update(changes)
    return load_catalog(
        include_builtin=False,
        extra_models=[*chosen, *extra_models],
        provider_overrides=overrides,
    )
