"""Why a model was selected: the plain-language reasons attached to each decision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from orchestratex.core.catalog import ModelSpec
from orchestratex.core.orchestration import Analysis, CandidateScore, CascadePlan
from orchestratex.core.performance import ModelHealth
from orchestratex.engine.estimates import QualityEstimate

NEAR_QUALITY = 0.5
"""A cheaper model this close in expected quality to the winner is worth a mention."""
COST_FLOOR_USD = 1e-5
MAX_EXCLUSION_REASONS = 4

CostSource = Literal["price", "history", "assumed", "unknown"]


@dataclass(frozen=True, slots=True)
class Facts:
    spec: ModelSpec
    quality: QualityEstimate
    optimistic: float
    cost: float
    cost_source: CostSource
    latency: float
    health: ModelHealth | None
    health_score: float
    reliability: float
    excluded: str | None
    quality_source: Literal["prior", "learned"] = "prior"
    """"learned": the quality estimate comes from the learned history model (per prompt)."""


@dataclass(frozen=True, slots=True)
class Ranking:
    facts: dict[str, Facts]
    candidates: list[CandidateScore]
    weights: tuple[float, float, float]

    def eligible(self) -> list[CandidateScore]:
        return [c for c in self.candidates if c.excluded is None]


def no_model_message(candidates: Sequence[CandidateScore]) -> str:
    if not candidates:
        return "no model available: the catalog has no models"
    parts = "; ".join(f"{c.model}: {c.excluded}" for c in sorted(candidates, key=lambda c: c.model))
    return f"no model available: {parts}"


def why_lost(loser: Facts, winner: Facts) -> str:
    """The plainest reason `loser` ranked below `winner`."""
    if loser.health_score < winner.health_score:
        return f"its health is {loser.health_score:.0%}"
    if loser.reliability < winner.reliability - 0.02:
        return f"its calls succeed less often (~{loser.reliability:.0%})"
    if loser.cost > winner.cost * 1.2:
        ratio = loser.cost / max(winner.cost, COST_FLOOR_USD)
        return f"it costs {ratio:.{0 if ratio >= 10 else 1}f}x as much"
    if loser.latency > winner.latency * 1.2:
        return f"it is slower (~{loser.latency / 1000:.1f} s)"
    return "its weighted score was lower"


def explain(analysis: Analysis, ranking: Ranking, exploration: float) -> list[str]:
    eligible = ranking.eligible()
    facts = ranking.facts
    top = eligible[0]
    win = facts[top.model]
    head = f"{analysis.domain.value} prompt, complexity {analysis.complexity:.2f}: {top.model}"
    q = f"{win.quality.mean:.1f} ± {win.quality.std:.1f}"
    best_q = max(eligible, key=lambda c: c.expected_quality)
    reasons: list[str] = []
    if best_q.expected_quality <= top.expected_quality:
        reasons.append(f"{head} has the highest expected quality {q}")
        cheaper = [
            c
            for c in eligible[1:]
            if c.expected_cost_usd < top.expected_cost_usd
            and top.expected_quality - c.expected_quality <= NEAR_QUALITY
        ]
        if cheaper:
            near = cheaper[0]
            gap = top.expected_quality - near.expected_quality
            reasons.append(
                f"cheaper {near.model} was within {gap:.1f} points but scored "
                f"{near.score:.2f} against {top.score:.2f}"
            )
    else:
        reasons.append(
            f"{head} has the best weighted score {top.score:.2f} "
            f"(expected quality {q}, ~${top.expected_cost_usd:.4f}, "
            f"~{top.expected_latency_ms / 1000:.1f} s)"
        )
        reasons.append(
            f"{best_q.model} has a higher expected quality {best_q.expected_quality:.1f} "
            f"± {best_q.quality_uncertainty:.1f} but {why_lost(facts[best_q.model], win)}"
        )
    learned = [c for c in eligible[:3] if facts[c.model].quality_source == "learned"]
    if learned:
        reasons.append(
            "expected quality learned from judged history for this prompt: "
            + ", ".join(
                f"{c.model} {facts[c.model].quality.mean:.1f} ± {facts[c.model].quality.std:.1f} "
                f"({facts[c.model].quality.samples} answers)"
                for c in learned
            )
        )
    if exploration > 0.0 and win.quality.samples < 5 and win.quality_source == "prior":
        bonus = exploration * win.quality.std
        reasons.append(
            f"{top.model} has {win.quality.samples or 'no'} judged answers in "
            f"{analysis.domain.value}; "
            f"the estimate leans on the catalog prior (exploration bonus +{bonus:.1f})"
        )
    if win.health_score < 1.0 and win.health is not None:
        reasons.append(f"{top.model} health is {win.health_score:.0%} ({win.health.circuit})")
    leaders = eligible[:3]
    assumed = sorted(c.model for c in leaders if facts[c.model].cost_source == "assumed")
    if assumed:
        reasons.append(
            f"no known price for {', '.join(assumed)}: cost taken as the most expensive known "
            f"(~${facts[assumed[0]].cost:.4f})"
        )
    by_history = sorted(c.model for c in leaders if facts[c.model].cost_source == "history")
    if by_history:
        reasons.append(f"no known price for {', '.join(by_history)}: cost taken from its history")
    if any(facts[c.model].cost_source == "unknown" for c in eligible):
        reasons.append("no model has a known price: cost did not count")
    quiet = ("not in allowed_models", "disabled")
    out = sorted(
        (c for c in ranking.candidates if c.excluded is not None),
        key=lambda c: c.excluded in quiet,
    )
    for c in out[:MAX_EXCLUSION_REASONS]:
        reasons.append(f"{c.model} excluded: {c.excluded}")
    if len(out) > MAX_EXCLUSION_REASONS:
        reasons.append(f"{len(out) - MAX_EXCLUSION_REASONS} more models excluded")
    wq, wc, wl = ranking.weights
    reasons.append(f"weights: quality {wq:.2f}, cost {wc:.2f}, latency {wl:.2f}")
    return reasons


def cascade_reason(plan: CascadePlan, ranking: Ranking, nearest: float | None = None) -> str:
    """Why the run starts with the cheaper model, and what decides the escalation."""
    start, strong = ranking.facts[plan.start], ranking.facts[plan.escalate_to]
    head = (
        f"started with the cheaper {plan.start} (~${start.cost:.4f} against ~${strong.cost:.4f} "
        f"for {plan.escalate_to})"
    )
    if plan.signal == "router-unknown":
        near = "" if nearest is None else f" (nearest similarity {nearest:.2f})"
        why = f"the prompt is unlike the learned router's training prompts{near}"
    elif plan.signal == "router":
        why = (
            f"the learned router is unsure: strong score {plan.p_strong:.3f} is within "
            f"{plan.band:.2f} of its threshold {plan.indifference:.2f}"
        )
    else:
        why = (
            f"the learned quality cannot tell them apart for this prompt: {plan.escalate_to} "
            f"{strong.quality.mean:.1f} ± {strong.quality.std:.1f}, {plan.start} "
            f"{start.quality.mean:.1f} ± {start.quality.std:.1f}, P({plan.escalate_to} better) "
            f"{plan.p_strong:.2f} is within {plan.band:.2f} of 0.5"
        )
    return (
        f"{head}: {why}; the judges' verdict on its answer, and its own token confidence where "
        f"the provider returns log-probabilities, decide whether the next round escalates to "
        f"{plan.escalate_to}"
    )
