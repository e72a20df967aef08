"""The learned router's pick between its (strong, weak) pair, with its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestratex.core.orchestration import Analysis, SelectionDecision
from orchestratex.engine.selection_reasons import Ranking

if TYPE_CHECKING:
    from orchestratex.engine.router import RouterVerdict, StrongWeakRouter


@dataclass(frozen=True, slots=True)
class RouterPick:
    """The router's decision (None when it does not apply or the prompt is unknown) and its
    verdict (None when the router was not asked)."""

    decision: SelectionDecision | None
    verdict: RouterVerdict | None


def scorer_phrase(verdict: RouterVerdict) -> str:
    """Which part of the router gave the verdict: an expert, the pooled model or the unknown
    fallback (the prior)."""
    if not verdict.known:
        return "unknown fallback: the prior, not a model"
    if verdict.expert is not None:
        return f"scored by the {verdict.expert} expert"
    return "scored by the pooled model"


def router_pick(
    router: StrongWeakRouter,
    pair: tuple[str, str],
    threshold: float,
    prompt: str,
    analysis: Analysis,
    ranking: Ranking,
) -> RouterPick:
    """Strong when the router's score reaches `threshold`, else weak; only when both models of
    the pair are eligible and the router knows the prompt."""
    strong, weak = pair
    eligible = ranking.eligible()
    if not {strong, weak} <= {c.model for c in eligible}:
        return RouterPick(None, None)
    verdict = router.assess(prompt)
    if not verdict.known:
        return RouterPick(None, verdict)
    score = verdict.score
    use_strong = score >= threshold
    model = strong if use_strong else weak
    relation = ">=" if use_strong else "<"
    reasons = [
        f"{analysis.domain.value} prompt, complexity {analysis.complexity:.2f}: {model} "
        f"chosen by the learned router",
        f"router strong score {score:.3f} {relation} threshold {threshold:.2f}: "
        f"{'strong' if use_strong else 'weak'} model of the pair {strong} / {weak}"
        f" (router features: {verdict.basis}; {scorer_phrase(verdict)})",
    ]
    if eligible[0].model != model:
        reasons.append(f"the weighted ranking alone would pick {eligible[0].model}")
    decision = SelectionDecision(
        model=model, reasons=reasons, candidates=ranking.candidates, strategy="learned"
    )
    return RouterPick(decision, verdict)
