"""The catalog of the offline demo: two recorded models and the recorded judge.

Prices are the models' public per-token prices from the genai-prices package (bundled data):
GPT-4 Turbo `gpt-4-1106-preview` at OpenAI, Mixtral 8x7B (`open-mixtral-8x7b`) at Mistral's own
API. The recorded judge costs nothing: its verdicts are read from disk, not bought.

Specialty priors come from the recordings' own accuracy (README of the data): GSM8K 0.86 vs 0.64
for math, MMLU 0.83 vs 0.70 elsewhere.
"""

from __future__ import annotations

from orchestratex.core.catalog import ModelSpec, Price, ProviderSpec
from orchestratex.core.types import Domain
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.pricing import resolve_price
from orchestratex.providers.replay_data import RECORDED_JUDGE, STRONG_MODEL, WEAK_MODEL

REPLAY_PROVIDER = "routellm-replay"
ANSWER_MODELS = (STRONG_MODEL, WEAK_MODEL)
"""Catalog keys of the models that answer (equal to their model ids)."""

FREE = Price(input_per_mtok=0.0, output_per_mtok=0.0, source="replay: recorded verdicts")


def _priors(math: float, other: float) -> dict[Domain, float]:
    return {d: (math if d is Domain.MATH else other) for d in Domain}


def _public_price(provider: str, model_id: str, spec: ModelSpec) -> Price | None:
    """The model's price at `provider` in genai-prices, or None when it is not listed."""
    probe = spec.model_copy(update={"price": None, "price_lookup_id": model_id})
    return resolve_price(probe, ProviderSpec(name=provider))


def replay_catalog() -> Catalog:
    """The replay provider (no key) with GPT-4, Mixtral and the recorded judge.

    The catalog does not read the recordings (the adapter does, from its `ReplayData`), so
    building it is cheap and never fails on missing data.
    """
    provider = ProviderSpec(name=REPLAY_PROVIDER, protocol="replay", timeout_s=30.0, max_retries=0)
    strong = ModelSpec(
        key=STRONG_MODEL,
        family="gpt",
        provider=REPLAY_PROVIDER,
        model_id=STRONG_MODEL,
        context_window=128_000,
        max_output_tokens=4096,  # gpt-4-1106-preview's own limit
        tier="large",
        typical_latency_ms=6000,
        specialties=_priors(0.86, 0.83),
    )
    weak = ModelSpec(
        key=WEAK_MODEL,
        family="mistral",
        provider=REPLAY_PROVIDER,
        model_id=WEAK_MODEL,
        context_window=32_768,
        tier="small",
        typical_latency_ms=3000,
        specialties=_priors(0.64, 0.70),
    )
    judge = ModelSpec(
        key=RECORDED_JUDGE,
        family="recorded",
        provider=REPLAY_PROVIDER,
        model_id=RECORDED_JUDGE,
        context_window=128_000,
        tier="small",
        typical_latency_ms=50,
        price=FREE,
    )
    priced = [
        strong.model_copy(update={"price": _public_price("openai", STRONG_MODEL, strong)}),
        weak.model_copy(update={"price": _public_price("mistral", "open-mixtral-8x7b", weak)}),
        judge,
    ]
    return Catalog(
        providers={REPLAY_PROVIDER: provider},
        models={m.key: m for m in priced},
        prices={m.key: m.price for m in priced},
    )
