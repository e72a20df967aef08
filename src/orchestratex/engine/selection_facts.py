"""What selection knows of each catalog model for one prompt: expected quality (learned per
prompt, or the specialty prior updated by the domain's history), expected cost and latency,
health, call reliability, and whether (and why) it is excluded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.orchestration import Analysis, Preferences
from orchestratex.core.performance import ModelHealth, PerformanceStats
from orchestratex.engine.estimates import (
    CallHistory,
    QualityEstimate,
    estimate_quality,
    estimate_success,
    pool_stats,
)
from orchestratex.engine.selection_reasons import CostSource, Facts


def exclusion_reason(health: ModelHealth | None) -> str:
    if health is None:
        return "unhealthy"
    if not health.configured:
        return "provider not configured"
    return "circuit open"  # a closed circuit always scores above 0 (ModelHealth.score)


def model_facts(
    models: Mapping[str, ModelSpec],
    prices: Mapping[str, Price | None],
    analysis: Analysis,
    preferences: Preferences,
    performance: Sequence[PerformanceStats],
    health: Mapping[str, ModelHealth],
    exclude: Collection[str],
    input_tokens: int,
    output_tokens: int,
    *,
    exploration: float,
    learned: Mapping[str, QualityEstimate] | None = None,
) -> dict[str, Facts]:
    """The facts of every model of `models`, by key (excluded ones say why in `excluded`)."""
    in_domain: dict[str, list[PerformanceStats]] = defaultdict(list)
    calls: dict[str, CallHistory] = defaultdict(CallHistory)
    for stats in performance:
        calls[stats.model].add(stats)
        if stats.domain == analysis.domain:
            in_domain[stats.model].append(stats)

    costs: dict[str, float] = {}
    for key, price in prices.items():
        if price is not None:
            costs[key] = (
                input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok
            ) / 1e6
    most_expensive = max(costs.values(), default=0.0)
    allowed = None if preferences.allowed_models is None else set(preferences.allowed_models)
    excluded_keys = set(exclude)

    out: dict[str, Facts] = {}
    for key, spec in models.items():
        learned_quality = (learned or {}).get(key)
        quality = learned_quality or estimate_quality(
            spec, analysis.domain, analysis.complexity, pool_stats(in_domain.get(key, ()))
        )
        seen = calls.get(key) or CallHistory()
        success = estimate_success(seen.successes, seen.failures)
        learned_cost = seen.mean_cost_usd()
        learned_latency = seen.mean_latency_ms()
        source: CostSource
        if key in costs:
            cost, source = costs[key], "price"
        elif learned_cost is not None:
            cost, source = learned_cost, "history"
        else:
            cost, source = most_expensive, "assumed" if costs else "unknown"
        live = health.get(key)
        if live is not None and live.latency_p50_ms is not None and live.latency_p50_ms > 0:
            latency = live.latency_p50_ms
        elif learned_latency is not None:
            latency = learned_latency
        else:
            latency = spec.typical_latency_ms
        health_score = live.score if live is not None else 1.0

        reason: str | None = None
        if allowed is not None and key not in allowed:
            reason = "not in allowed_models"
        elif not spec.enabled:
            reason = "disabled"
        elif key in excluded_keys:
            reason = "excluded by the caller"
        elif health_score <= 0.0:
            reason = exclusion_reason(live)
        elif preferences.budget_usd is not None and cost > preferences.budget_usd:
            unknown = " (price unknown)" if source == "assumed" else ""
            reason = (
                f"expected cost ${cost:.4f}{unknown} over the budget ${preferences.budget_usd:.4f}"
            )
        out[key] = Facts(
            spec=spec,
            quality=quality,
            optimistic=quality.mean + exploration * quality.std,
            cost=cost,
            cost_source=source,
            latency=latency,
            health=live,
            health_score=health_score,
            reliability=success.mean,
            excluded=reason,
            quality_source="prior" if learned_quality is None else "learned",
        )
    return out
