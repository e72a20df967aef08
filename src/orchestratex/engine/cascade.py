"""Start cheap when unsure: when a run starts with a cheaper model, and when it escalates.

Selection (engine/selection.py) asks here whether it is unsure which of two models a prompt
needs, on the signal it has:

- the learned router's calibrated P(strong model needed) lies within `band` of the router's
  threshold (the point of indifference), or the router calls the prompt unknown (far from its
  training prompts);
- without a router, the learned per-prompt quality (engine/learned_quality.py) of the ranking's
  winner and of a clearly cheaper model are too close to call: P(winner better), from the two
  posterior means and stds, lies within `band` of 0.5.

Then the run starts with the cheaper model (a `CascadePlan` on the decision). After its first
answer is judged, `needs_escalation` decides: escalate to the stronger model when the judges'
aggregate is under the run's threshold (or no judge gave one), or when the answering model's
own token confidence (from log-probabilities, where its provider returns them) is under
`min_confidence`; otherwise the cheaper answer stands. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from orchestratex.core.orchestration import CandidateScore, CascadePlan, RoundResult
from orchestratex.engine.estimates import QualityEstimate
from orchestratex.engine.selection_reasons import Ranking

DEFAULT_BAND = 0.1
"""Probability distance from indifference within which selection starts cheap (measured on
the recorded data: docs/benchmarks.md, "Start cheap when unsure")."""
DEFAULT_MIN_CONFIDENCE = 0.5
"""Geometric-mean token probability under which a cheaper answer escalates even when the judges
passed it (a mean token log-prob under -0.69). Not measured: the recordings carry no
log-probabilities."""
CHEAPER_RATIO = 0.5
"""A model is a cheaper start only at no more than half the winner's expected cost."""


@dataclass(frozen=True, slots=True)
class CascadeSettings:
    """How unsure selection must be to start cheap, and how sure an answer must be to stand."""

    band: float = DEFAULT_BAND
    """0 never starts cheap; at most 0.5."""
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    """0: the token confidence never escalates on its own."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.band <= 0.5:
            raise ValueError(f"cascade band must be in 0..0.5, got {self.band!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in 0..1, got {self.min_confidence!r}")


def router_plan(
    score: float, known: bool, threshold: float, pair: tuple[str, str], band: float
) -> CascadePlan | None:
    """The plan when the router is unsure of a prompt (None when it is sure, or band is 0)."""
    if band <= 0.0:
        return None
    strong, weak = pair
    if not known:
        return CascadePlan(start=weak, escalate_to=strong, signal="router-unknown", band=band)
    if abs(score - threshold) >= band:
        return None
    return CascadePlan(
        start=weak,
        escalate_to=strong,
        signal="router",
        p_strong=score,
        indifference=threshold,
        band=band,
    )


def p_better(a: QualityEstimate, b: QualityEstimate) -> float:
    """P(a's true quality exceeds b's) for independent normal posteriors."""
    spread = math.hypot(a.std, b.std)
    if spread <= 0.0:
        return 1.0 if a.mean > b.mean else 0.0 if a.mean < b.mean else 0.5
    return 0.5 * (1.0 + math.erf((a.mean - b.mean) / (spread * math.sqrt(2.0))))


def cheaper_rival(ranking: Ranking) -> CandidateScore | None:
    """The best (by learned expected quality) eligible model at most CHEAPER_RATIO of the
    winner's cost; only when both have learned per-prompt quality."""
    eligible = ranking.eligible()
    if not eligible or ranking.facts[eligible[0].model].quality_source != "learned":
        return None
    top = eligible[0]
    rivals = [
        c
        for c in eligible[1:]
        if c.expected_cost_usd <= CHEAPER_RATIO * top.expected_cost_usd
        and ranking.facts[c.model].quality_source == "learned"
    ]
    return max(rivals, key=lambda c: (c.expected_quality, -c.expected_cost_usd), default=None)


def quality_plan(ranking: Ranking, band: float) -> CascadePlan | None:
    """The plan when the learned quality cannot tell the winner from a cheaper model."""
    if band <= 0.0:
        return None
    rival = cheaper_rival(ranking)
    if rival is None:
        return None
    top = ranking.eligible()[0]
    p = p_better(ranking.facts[top.model].quality, ranking.facts[rival.model].quality)
    if abs(p - 0.5) >= band:
        return None
    return CascadePlan(
        start=rival.model,
        escalate_to=top.model,
        signal="learned-quality",
        p_strong=p,
        indifference=0.5,
        band=band,
    )


def pending(plan: CascadePlan | None, rounds: list[RoundResult]) -> bool:
    """Whether the plan's escalation decision is due: exactly one round, by the start model."""
    return plan is not None and len(rounds) == 1 and rounds[0].model == plan.start


def needs_escalation(
    first: RoundResult, threshold: float, min_confidence: float
) -> tuple[bool, str]:
    """Whether the cheaper first answer escalates, and why (either way)."""
    conf = first.confidence
    shown = "" if conf is None else f", token confidence {conf.probability:.2f}"
    if first.score is None:
        return True, f"no judge scored the answer of {first.model}{shown}"
    if first.score < threshold:
        return True, (
            f"the judges scored the answer of {first.model} {first.score:.2f}, under the "
            f"threshold {threshold}{shown}"
        )
    if conf is not None and conf.probability < min_confidence:
        return True, (
            f"the judges scored the answer of {first.model} {first.score:.2f}, but its own "
            f"token confidence {conf.probability:.2f} (mean log-prob {conf.mean_logprob:.2f} "
            f"over {conf.tokens} tokens) is under {min_confidence:.2f}"
        )
    return False, f"the judges scored the answer of {first.model} {first.score:.2f}{shown}"
