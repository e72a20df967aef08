"""Randomised checks over many inputs, and the cost of a ranking."""

from __future__ import annotations

import math
import random

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import NoModelAvailableError
from orchestratex.core.orchestration import Analysis, Preferences
from orchestratex.core.performance import ModelHealth, PerformanceStats
from orchestratex.core.types import Domain
from orchestratex.engine.selection import Selector

TIERS = ("small", "medium", "large")
FAMILIES = ("gpt", "claude", "grok", "qwen", "llama")


def random_world(
    rng: random.Random,
) -> tuple[list[ModelSpec], dict[str, Price | None], list[PerformanceStats]]:
    models: list[ModelSpec] = []
    prices: dict[str, Price | None] = {}
    stats: list[PerformanceStats] = []
    for i in range(rng.randint(1, 10)):
        key = f"m{i}"
        models.append(
            ModelSpec(
                key=key,
                family=rng.choice(FAMILIES),
                provider="p",
                model_id=key,
                context_window=8000,
                specialties={d: rng.random() for d in Domain if rng.random() < 0.7},
                typical_latency_ms=rng.uniform(1.0, 20_000.0),
                tier=rng.choice(TIERS),
                enabled=rng.random() < 0.9,
            )
        )
        prices[key] = (
            Price(
                input_per_mtok=rng.choice([0.0, rng.uniform(0, 80)]),
                output_per_mtok=rng.uniform(0, 80),
            )
            if rng.random() < 0.8
            else None
        )
        for domain in Domain:
            if rng.random() < 0.4:
                n = rng.choice([0, 1, 2, 5, 50, 10_000])
                stats.append(
                    PerformanceStats(
                        model=key,
                        domain=domain,
                        samples=n,
                        mean_score=rng.uniform(0, 10),
                        score_variance=rng.choice([0.0, rng.uniform(0, 30)]),
                        successes=rng.randint(0, 100),
                        failures=rng.randint(0, 100),
                        mean_latency_ms=rng.choice([0.0, rng.uniform(0, 1e5)]),
                        mean_cost_usd=rng.choice([0.0, rng.uniform(0, 2)]),
                    )
                )
    return models, prices, stats


def random_health(rng: random.Random, keys: list[str]) -> dict[str, ModelHealth]:
    return {
        k: ModelHealth(
            model=k,
            provider="p",
            circuit=rng.choice(["closed", "closed", "open", "half_open"]),
            recent_success_rate=rng.random(),
            recent_calls=rng.randint(0, 20),
            latency_p50_ms=rng.choice([None, rng.uniform(1, 9000)]),
            configured=rng.random() < 0.9,
        )
        for k in keys
        if rng.random() < 0.5
    }


def test_random_inputs_give_finite_scores_and_eligible_choices() -> None:
    rng = random.Random(20240611)
    chosen_count = 0
    for _ in range(300):
        models, prices, stats = random_world(rng)
        keys = [m.key for m in models]
        health = random_health(rng, keys)
        prefs = Preferences(
            quality_weight=rng.random(),
            cost_weight=rng.choice([0.0, rng.random()]),
            latency_weight=rng.random(),
            allowed_models=rng.sample(keys, rng.randint(1, len(keys)))
            if rng.random() < 0.3
            else None,
            budget_usd=rng.choice([None, rng.uniform(1e-4, 0.05)]),
        )
        a = Analysis(domain=rng.choice(list(Domain)), complexity=rng.random())
        exclude = rng.sample(keys, rng.randint(0, 1))
        sel = Selector(models, prices, exploration=rng.choice([0.0, 0.5, 2.0]))
        ranked = sel.rank(a, prefs, performance=stats, health=health, exclude=exclude)
        assert sorted(c.model for c in ranked) == sorted(keys)
        for c in ranked:
            values = (c.score, c.expected_quality, c.quality_uncertainty, c.expected_cost_usd)
            assert all(math.isfinite(v) for v in values)
            assert 0.0 <= c.expected_quality <= 10.0 and c.quality_uncertainty > 0.0
            assert 0.0 <= c.score <= 1.0
        flags = [c.excluded is not None for c in ranked]
        assert flags == sorted(flags)
        eligible = [c for c in ranked if c.excluded is None]
        assert [c.score for c in eligible] == sorted((c.score for c in eligible), reverse=True)
        for c in eligible:
            assert c.model not in exclude and c.health > 0.0
            assert prefs.allowed_models is None or c.model in prefs.allowed_models
            assert prefs.budget_usd is None or c.expected_cost_usd <= prefs.budget_usd
        try:
            decision = sel.select(a, prefs, performance=stats, health=health, exclude=exclude)
        except NoModelAvailableError as err:
            assert not eligible
            assert all(c.model in err.message for c in ranked)
            continue
        chosen_count += 1
        assert decision.model == eligible[0].model
        assert decision.reasons and all(r for r in decision.reasons)
        judges = sel.judges(a, decision.model, 2, prefs, performance=stats, health=health)
        assert decision.model not in judges and len(judges) == len(set(judges)) <= 2
        up = sel.escalation_target(decision.model, a, prefs, performance=stats, health=health)
        if up is not None:
            by = {c.model: c for c in ranked}
            assert up != decision.model
            assert by[up].expected_quality >= by[decision.model].expected_quality + 0.5
    assert chosen_count > 100
