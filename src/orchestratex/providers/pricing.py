"""Prices per model from the genai-prices package (bundled data, no network), and cost."""

from __future__ import annotations

from decimal import Decimal

from genai_prices import Usage, calc_price

from orchestratex.core.catalog import ModelSpec, Price, ProviderSpec
from orchestratex.core.types import TokenUsage

_MTOK = 1_000_000
# Prices are sampled on a small request and scaled up: a 1M-token sample would land in the
# long-context tier some models have (e.g. Claude Sonnet 4.5 above 200k input tokens).
_SAMPLE_TOKENS = 1_000


def resolve_price(spec: ModelSpec, provider: ProviderSpec) -> Price | None:
    """The model's price: its own override, else genai-prices' data, else None (unknown)."""
    if spec.price is not None:
        return spec.price
    model_ref = spec.price_lookup_id or spec.model_id
    provider_id = provider.price_provider_id or provider.name
    try:
        calc = calc_price(
            Usage(input_tokens=_SAMPLE_TOKENS, output_tokens=_SAMPLE_TOKENS),
            model_ref=model_ref,
            provider_id=provider_id,
        )
    except LookupError:
        return None
    scale = Decimal(_MTOK // _SAMPLE_TOKENS)
    return Price(
        input_per_mtok=float(Decimal(calc.input_price) * scale),
        output_per_mtok=float(Decimal(calc.output_price) * scale),
        source=f"genai-prices:{calc.provider.id}/{calc.model.id}",
    )


def cost_of(price: Price | None, usage: TokenUsage) -> tuple[float, bool]:
    """US dollars for this usage, and whether the price was known (unknown is never 0 silently)."""
    if price is None:
        return 0.0, False
    usd = (
        usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok
    ) / _MTOK
    return usd, True
