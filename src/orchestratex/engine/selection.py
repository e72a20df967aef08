"""Model selection: rank the catalog for one prompt and explain the choice.

Each model's score is a preference-weighted sum of three goods in 0..1 (engine/
selection_scoring.py) over what is known of it for this prompt (engine/selection_facts.py):
optimistic expected quality (posterior mean + `exploration` x std, a UCB bonus so little-tried
models get tried), cost and latency, multiplied by its live health score and its estimated call
success rate. With the default weights, half a point of quality is worth paying about ten times
as much. Pure and deterministic: the same inputs give the same ranking.

With a learned router (engine/router.py, engine/semantic_router.py) and its (strong, weak) model
pair, `select` given the prompt text lets the router choose between the two whenever both are
eligible (strategy "learned", engine/selection_learned.py): strong when its score reaches
`router_threshold`, else weak. When the router says the prompt is far from everything it was
trained on, it does not guess: the weighted ranking on the priors decides, and the reasons say
why.

Start cheap when unsure (engine/cascade.py): when `select` is told the run can escalate
(`cascade=True`) and the router, or the learned per-prompt quality, is within `cascade_band`
of indifference between a stronger and a cheaper model (or the router calls the prompt
unknown), the cheaper model answers first (strategy "cascade", with the plan on the decision);
the orchestrator escalates after the first verdict when it is needed.
"""

from __future__ import annotations

import math
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
from orchestratex.engine.cascade import DEFAULT_BAND, quality_plan, router_plan
from orchestratex.engine.selection_facts import model_facts
from orchestratex.engine.selection_learned import router_pick, scorer_phrase
from orchestratex.engine.selection_reasons import Ranking, cascade_reason, explain, no_model_message
from orchestratex.engine.selection_scoring import score_facts

if TYPE_CHECKING:
    from orchestratex.engine.learned_quality import QualityEstimator
    from orchestratex.engine.router import StrongWeakRouter

DEFAULT_EXPLORATION = 0.5
DEFAULT_ROUTER_THRESHOLD = 0.5
ESCALATION_MARGIN = 0.5
"""Points of expected quality a model must have over the current one to be an escalation."""
JUDGE_INPUT_TOKENS = 1500
JUDGE_OUTPUT_TOKENS = 400


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
        cascade_band: float = DEFAULT_BAND,
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
        if not 0.0 <= cascade_band <= 0.5:
            raise ValueError(f"cascade_band must be in 0..0.5, got {cascade_band!r}")
        self.router = router
        self.router_models = router_models
        self.router_threshold = router_threshold
        self.quality_model = quality_model
        """Learned per-model quality from the deployment's judged history (used with a prompt)."""
        self.cascade_band = cascade_band

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return tuple(self._models.values())

    def spec(self, key: str) -> ModelSpec | None:
        return self._models.get(key)

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
        cascade: bool = False,
    ) -> SelectionDecision:
        """The best eligible model with the reasons; NoModelAvailableError when there is none.

        With a router configured, `prompt` given and both router models eligible, the router
        picks between them instead (strategy "learned"). With `cascade` (the run can escalate
        after its first answer) and selection unsure, the cheaper model starts (strategy
        "cascade").
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
        band = self.cascade_band if cascade else 0.0
        verdict = None
        if self.router is not None and self.router_models is not None and prompt is not None:
            pick = router_pick(
                self.router, self.router_models, self.router_threshold, prompt, analysis, ranking
            )
            verdict = pick.verdict
            if verdict is not None:
                plan = router_plan(
                    verdict.score, verdict.known, self.router_threshold, self.router_models, band
                )
                if plan is not None:
                    reasons = [cascade_reason(plan, ranking, verdict.nearest)]
                    reasons += pick.decision.reasons[1:] if pick.decision else []
                    return SelectionDecision(
                        model=plan.start,
                        reasons=reasons,
                        candidates=ranking.candidates,
                        strategy="cascade",
                        cascade=plan,
                    )
            if pick.decision is not None:
                return pick.decision
        reasons = explain(analysis, ranking, self.exploration)
        if verdict is not None and not verdict.known and verdict.nearest is not None:
            reasons.append(
                f"the learned router did not decide: the prompt is unlike its training prompts "
                f"(nearest similarity {verdict.nearest:.2f}; {scorer_phrase(verdict)}); "
                f"selection used the priors"
            )
        plan = quality_plan(ranking, band)
        if plan is not None:
            return SelectionDecision(
                model=plan.start,
                reasons=[cascade_reason(plan, ranking), *reasons],
                candidates=ranking.candidates,
                strategy="cascade",
                cascade=plan,
            )
        return SelectionDecision(
            model=eligible[0].model, reasons=reasons, candidates=ranking.candidates
        )

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
        facts = model_facts(
            self._models,
            self._prices,
            analysis,
            preferences,
            performance,
            health or {},
            exclude,
            input_tokens,
            output_tokens,
            exploration=self.exploration,
            learned=learned,
        )
        return score_facts(facts, preferences)
