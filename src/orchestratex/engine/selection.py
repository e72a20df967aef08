"""Model selection: rank the catalog for one prompt and explain the choice.

Each model's score is a preference-weighted sum of three goods in 0..1, each measured against
the best eligible model on fixed scales: optimistic expected quality (posterior mean +
`exploration` x std, a UCB bonus so little-tried models get tried; 0 at `QUALITY_SCALE` points
behind the best), cost (0 at 100x the cheapest) and latency (0 at 10x the fastest). With the
default weights, half a point of quality is worth paying about ten times as much. The sum is then
multiplied by the model's live health score and its estimated call success rate. Pure and
deterministic: the same inputs give the same ranking.

With a learned router (engine/router.py, engine/semantic_router.py) and its (strong, weak) model
pair, `select` given the prompt text lets the router choose between the two whenever both are
eligible (strategy "learned"): strong when its score reaches `router_threshold`, else weak. When
the router says the prompt is far from everything it was trained on, it does not guess: the
weighted ranking on the priors decides, and the reasons say why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import NoModelAvailableError, UnknownModelError
from orchestratex.core.orchestration import (
    Analysis,
    CandidateScore,
    Preferences,
    SelectionDecision,
)
from orchestratex.core.performance import ModelHealth, PerformanceStats
from orchestratex.engine.estimates import (
    CallHistory,
    QualityEstimate,
    estimate_quality,
    estimate_success,
    pool_stats,
)
from orchestratex.engine.selection_reasons import (
    COST_FLOOR_USD,
    CostSource,
    Facts,
    Ranking,
    explain,
    no_model_message,
)

if TYPE_CHECKING:
    from orchestratex.engine.learned_quality import QualityEstimator
    from orchestratex.engine.router import RouterVerdict, StrongWeakRouter

DEFAULT_EXPLORATION = 0.5
DEFAULT_ROUTER_THRESHOLD = 0.5
ESCALATION_MARGIN = 0.5
"""Points of expected quality a model must have over the current one to be an escalation."""
QUALITY_SCALE = 2.5
"""Points behind the best eligible model at which quality goodness reaches 0."""
COST_DECADES = 2.0
"""Cost goodness reaches 0 at 100x the cheapest eligible model's expected cost."""
LATENCY_DECADES = 1.0
"""Latency goodness reaches 0 at 10x the fastest eligible model's expected latency."""
JUDGE_INPUT_TOKENS = 1500
JUDGE_OUTPUT_TOKENS = 400


def _weights(preferences: Preferences) -> tuple[float, float, float]:
    raw = (preferences.quality_weight, preferences.cost_weight, preferences.latency_weight)
    total = sum(raw)
    if total <= 0.0:
        return (1.0, 0.0, 0.0)
    return (raw[0] / total, raw[1] / total, raw[2] / total)


def _clip(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def _decades(value: float, best: float, floor: float) -> float:
    """How many factors of ten `value` is above `best` (both shifted by `floor`)."""
    return math.log10((value + floor) / (best + floor))


def _exclusion_reason(health: ModelHealth | None) -> str:
    if health is None:
        return "unhealthy"
    if not health.configured:
        return "provider not configured"
    if health.circuit == "open":
        return "circuit open"
    return f"unhealthy (recent success rate {health.recent_success_rate:.0%})"


class Selector:
    """Ranks catalog models for an analysed prompt under the caller's preferences."""

    def __init__(
        self,
        models: Sequence[ModelSpec],
        prices: Mapping[str, Price | None],
        *,
        exploration: float = DEFAULT_EXPLORATION,
        router: StrongWeakRouter | None = None,
        router_models: tuple[str, str] | None = None,
        router_threshold: float = DEFAULT_ROUTER_THRESHOLD,
        quality_model: QualityEstimator | None = None,
    ) -> None:
        if not (math.isfinite(exploration) and exploration >= 0.0):
            raise ValueError(f"exploration must be finite and >= 0, got {exploration!r}")
        self._models: dict[str, ModelSpec] = {}
        for spec in models:
            if spec.key in self._models:
                raise ValueError(f"duplicate model key {spec.key!r}")
            self._models[spec.key] = spec
        self._prices = {k: prices.get(k) or spec.price for k, spec in self._models.items()}
        self.exploration = exploration
        if (router is None) != (router_models is None):
            raise ValueError("router and router_models go together")
        if router_models is not None:
            unknown = [k for k in router_models if k not in self._models]
            if unknown or router_models[0] == router_models[1]:
                raise ValueError(f"router_models must be two catalog models, got {router_models!r}")
        if not 0.0 <= router_threshold <= 1.0:
            raise ValueError(f"router_threshold must be in 0..1, got {router_threshold!r}")
        self.router = router
        self.router_models = router_models
        self.router_threshold = router_threshold
        self.quality_model = quality_model
        """Learned per-model quality from the deployment's judged history (used with a prompt)."""

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return tuple(self._models.values())

    @property
    def blocking(self) -> bool:
        """Whether `select` may do heavy work (a learned model that embeds the prompt), so the
        service runs it off the event loop."""
        return self.router is not None or self.quality_model is not None

    def rank(
        self,
        analysis: Analysis,
        preferences: Preferences,
        *,
        performance: Sequence[PerformanceStats] = (),
        health: Mapping[str, ModelHealth] | None = None,
        exclude: Collection[str] = (),
        expected_input_tokens: int = 500,
        expected_output_tokens: int = 700,
        prompt: str | None = None,
    ) -> list[CandidateScore]:
        """Every model, best first; ineligible ones last with `excluded` saying why."""
        return self._rank(
            analysis,
            preferences,
            performance,
            health,
            exclude,
            expected_input_tokens,
            expected_output_tokens,
            prompt,
        ).candidates

    def select(
        self,
        analysis: Analysis,
        preferences: Preferences,
        *,
        performance: Sequence[PerformanceStats] = (),
        health: Mapping[str, ModelHealth] | None = None,
        exclude: Collection[str] = (),
        expected_input_tokens: int = 500,
        expected_output_tokens: int = 700,
        prompt: str | None = None,
    ) -> SelectionDecision:
        """The best eligible model with the reasons; NoModelAvailableError when there is none.

        With a router configured, `prompt` given and both router models eligible, the router
        picks between them instead (strategy "learned").
        """
        ranking = self._rank(
            analysis,
            preferences,
            performance,
            health,
            exclude,
            expected_input_tokens,
            expected_output_tokens,
            prompt,
        )
        eligible = ranking.eligible()
        if not eligible:
            raise NoModelAvailableError(no_model_message(ranking.candidates))
        learned, unknown = self._learned(prompt, analysis, ranking)
        if learned is not None:
            return learned
        reasons = explain(analysis, ranking, self.exploration)
        if unknown is not None and unknown.nearest is not None:
            reasons.append(
                f"the learned router did not decide: the prompt is unlike its training prompts "
                f"(nearest similarity {unknown.nearest:.2f}); selection used the priors"
            )
        return SelectionDecision(
            model=eligible[0].model, reasons=reasons, candidates=ranking.candidates
        )

    def _learned(
        self, prompt: str | None, analysis: Analysis, ranking: Ranking
    ) -> tuple[SelectionDecision | None, RouterVerdict | None]:
        """The router's pick between its two models (None when it does not apply), and the
        router's verdict when it found the prompt unknown."""
        if self.router is None or self.router_models is None or prompt is None:
            return None, None
        strong, weak = self.router_models
        eligible = ranking.eligible()
        if not {strong, weak} <= {c.model for c in eligible}:
            return None, None
        verdict = self.router.assess(prompt)
        if not verdict.known:
            return None, verdict
        score = verdict.score
        use_strong = score >= self.router_threshold
        model = strong if use_strong else weak
        relation = ">=" if use_strong else "<"
        reasons = [
            f"{analysis.domain.value} prompt, complexity {analysis.complexity:.2f}: {model} "
            f"chosen by the learned router",
            f"router strong score {score:.3f} {relation} threshold {self.router_threshold:.2f}: "
            f"{'strong' if use_strong else 'weak'} model of the pair {strong} / {weak}"
            f" (router features: {verdict.basis})",
        ]
        if eligible[0].model != model:
            reasons.append(f"the weighted ranking alone would pick {eligible[0].model}")
        decision = SelectionDecision(
            model=model, reasons=reasons, candidates=ranking.candidates, strategy="learned"
        )
        return decision, None

    def judges(
        self,
        analysis: Analysis,
        answer_model: str,
        count: int,
        preferences: Preferences,
        *,
        performance: Sequence[PerformanceStats] = (),
        health: Mapping[str, ModelHealth] | None = None,
    ) -> list[str]:
        """Up to `count` eligible judges other than `answer_model`, other families first."""
        if count <= 0:
            return []
        ranking = self._rank(
            analysis, preferences, performance, health, (), JUDGE_INPUT_TOKENS, JUDGE_OUTPUT_TOKENS
        )
        spec = self._models.get(answer_model)
        own_family = spec.family if spec is not None else None
        pool = [c.model for c in ranking.eligible() if c.model != answer_model]
        family = {k: self._models[k].family for k in pool}
        chosen: list[str] = []
        used: set[str] = set()
        # First one judge per unseen foreign family, then any foreign model, then own family.
        for key in pool:
            if family[key] != own_family and family[key] not in used:
                chosen.append(key)
                used.add(family[key])
        for key in pool:
            if key not in chosen and family[key] != own_family:
                chosen.append(key)
        for key in pool:
            if key not in chosen:
                chosen.append(key)
        return chosen[:count]

    def escalation_target(
        self,
        current: str,
        analysis: Analysis,
        preferences: Preferences,
        *,
        performance: Sequence[PerformanceStats] = (),
        health: Mapping[str, ModelHealth] | None = None,
        tried: Collection[str] = (),
    ) -> str | None:
        """The best-ranked eligible model clearly stronger than `current`, or None."""
        if current not in self._models:
            raise UnknownModelError(f"unknown model {current!r}")
        ranking = self._rank(analysis, preferences, performance, health, (), 500, 700)
        bar = ranking.facts[current].quality.mean + ESCALATION_MARGIN
        for cand in ranking.eligible():
            if cand.model != current and cand.model not in tried and cand.expected_quality >= bar:
                return cand.model
        return None

    def _rank(
        self,
        analysis: Analysis,
        preferences: Preferences,
        performance: Sequence[PerformanceStats],
        health: Mapping[str, ModelHealth] | None,
        exclude: Collection[str],
        input_tokens: int,
        output_tokens: int,
        prompt: str | None = None,
    ) -> Ranking:
        learned = (
            self.quality_model.estimates(prompt)
            if self.quality_model is not None and prompt is not None
            else {}
        )
        facts = self._facts(
            analysis,
            preferences,
            performance,
            health or {},
            exclude,
            input_tokens,
            output_tokens,
            learned,
        )
        weights = _weights(preferences)
        basis = [f for f in facts.values() if f.excluded is None] or list(facts.values())
        candidates: list[CandidateScore] = []
        if basis:
            q_best = max(f.optimistic for f in basis)
            c_min = min(f.cost for f in basis)
            l_min = min(f.latency for f in basis)
            for f in facts.values():
                goods = (
                    _clip(1.0 - (q_best - f.optimistic) / QUALITY_SCALE),
                    _clip(1.0 - _decades(f.cost, c_min, COST_FLOOR_USD) / COST_DECADES),
                    _clip(1.0 - _decades(f.latency, l_min, 1.0) / LATENCY_DECADES),
                )
                weighted = sum(w * g for w, g in zip(weights, goods, strict=True))
                candidates.append(
                    CandidateScore(
                        model=f.spec.key,
                        expected_quality=f.quality.mean,
                        quality_uncertainty=f.quality.std,
                        expected_cost_usd=f.cost,
                        expected_latency_ms=f.latency,
                        health=f.health_score,
                        score=weighted * f.health_score * f.reliability,
                        excluded=f.excluded,
                    )
                )
        candidates.sort(
            key=lambda c: (
                c.excluded is not None,
                -c.score,
                -c.expected_quality,
                c.expected_cost_usd,
                c.model,
            )
        )
        return Ranking(facts, candidates, weights)

    def _facts(
        self,
        analysis: Analysis,
        preferences: Preferences,
        performance: Sequence[PerformanceStats],
        health: Mapping[str, ModelHealth],
        exclude: Collection[str],
        input_tokens: int,
        output_tokens: int,
        learned: Mapping[str, QualityEstimate] | None = None,
    ) -> dict[str, Facts]:
        in_domain: dict[str, list[PerformanceStats]] = defaultdict(list)
        calls: dict[str, CallHistory] = defaultdict(CallHistory)
        for stats in performance:
            calls[stats.model].add(stats)
            if stats.domain == analysis.domain:
                in_domain[stats.model].append(stats)

        costs: dict[str, float] = {}
        for key, price in self._prices.items():
            if price is not None:
                costs[key] = (
                    input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok
                ) / 1e6
        most_expensive = max(costs.values(), default=0.0)
        allowed = None if preferences.allowed_models is None else set(preferences.allowed_models)
        excluded_keys = set(exclude)

        out: dict[str, Facts] = {}
        for key, spec in self._models.items():
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
                reason = _exclusion_reason(live)
            elif preferences.budget_usd is not None and cost > preferences.budget_usd:
                unknown = " (price unknown)" if source == "assumed" else ""
                reason = (
                    f"expected cost ${cost:.4f}{unknown} over the budget "
                    f"${preferences.budget_usd:.4f}"
                )
            out[key] = Facts(
                spec=spec,
                quality=quality,
                optimistic=quality.mean + self.exploration * quality.std,
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
