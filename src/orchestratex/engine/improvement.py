"""Improvement policy: whether to run another round, and whether to revise or escalate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from orchestratex.core.errors import BudgetExceededError
from orchestratex.core.orchestration import OrchestrationRequest, RoundResult, StopReason

PLATEAU_EPSILON = 0.25
"""The smallest gain over the best earlier score that counts as progress."""
PLATEAU_ROUNDS = 2
"""Consecutive rounds without progress that make a plateau."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Either a stop (with its reason) or the next round's strategy and model."""

    stop: StopReason | None
    reason: str
    strategy: Literal["revise", "escalate"] = "revise"
    to_model: str = ""


@dataclass(frozen=True, slots=True)
class ImprovementPolicy:
    """When to stop, and how to improve: revise with the same model, or escalate.

    With `revise` False, every round under the threshold escalates to a stronger model (for
    providers that cannot revise, such as the replay of recorded answers); when no stronger
    model is left, the run stops ("plateau").
    """

    epsilon: float = PLATEAU_EPSILON
    plateau_rounds: int = PLATEAU_ROUNDS
    revise: bool = True

    def stalled(self, rounds: Sequence[RoundResult]) -> int:
        """How many of the latest rounds in a row brought no gain of at least `epsilon`.

        A round without a score counts as no gain; the first scored round is always a gain.
        """
        best: float | None = None
        stall = 0
        for r in rounds:
            gained = r.score is not None and (best is None or r.score >= best + self.epsilon)
            stall = 0 if gained else stall + 1
            if r.score is not None:
                best = r.score if best is None else max(best, r.score)
        return stall

    def stop_reason(
        self,
        request: OrchestrationRequest,
        rounds: Sequence[RoundResult],
        *,
        spent_usd: float,
        elapsed_s: float,
    ) -> tuple[StopReason, str] | None:
        """Why the run must stop now, or None to go on. Checked in a fixed order."""
        scores = [r.score for r in rounds if r.score is not None]
        if scores and max(scores) >= request.threshold:
            return "threshold", f"score {max(scores):.2f} reached the threshold {request.threshold}"
        if len(rounds) >= request.max_rounds:
            return "max_rounds", f"all {request.max_rounds} rounds used"
        if rounds and not request.judges and request.judge_count == 0:
            return "unjudged", "answers are not judged here: another round would have no verdict"
        last = rounds[-1] if rounds else None
        if (
            last is not None
            and last.verdicts
            and all(v.error_code == BudgetExceededError.code for v in last.verdicts)
        ):
            return "budget", "what the budget has left cannot pay a judge for another answer"
        if self.stalled(rounds) >= self.plateau_rounds:
            return "plateau", (
                f"no gain of at least {self.epsilon} over {self.plateau_rounds} consecutive rounds"
            )
        budget = request.preferences.budget_usd
        if budget is not None and rounds:
            expected = max(rounds[-1].cost_usd, sum(r.cost_usd for r in rounds) / len(rounds))
            if spent_usd >= budget:
                return "budget", f"spent ${spent_usd:.6f} of the ${budget:.6f} budget"
            if spent_usd + expected > budget:
                return "budget", (
                    f"another round (about ${expected:.6f}) would exceed the budget: "
                    f"${spent_usd:.6f} spent of ${budget:.6f}"
                )
        deadline = request.deadline_s
        if deadline is not None and rounds:
            expected_s = rounds[-1].latency_ms / 1000.0
            if elapsed_s >= deadline:
                return "deadline", f"the {deadline}s deadline has passed"
            if elapsed_s + expected_s > deadline:
                return "deadline", (
                    f"another round (about {expected_s:.1f}s) would pass the {deadline}s deadline"
                )
        return None

    def decide(
        self,
        request: OrchestrationRequest,
        rounds: Sequence[RoundResult],
        *,
        spent_usd: float,
        elapsed_s: float,
        escalation_target: Callable[[], str | None],
    ) -> Decision:
        """Stop, or revise with the same model, or escalate (when the last revision stalled, or
        always when `revise` is off)."""
        stop = self.stop_reason(request, rounds, spent_usd=spent_usd, elapsed_s=elapsed_s)
        if stop is not None:
            return Decision(stop=stop[0], reason=stop[1])
        last = rounds[-1]
        shown = "no score" if last.score is None else f"score {last.score:.2f}"
        if not self.revise:
            target = escalation_target()
            if target and target != last.model:
                return Decision(
                    stop=None,
                    strategy="escalate",
                    to_model=target,
                    reason=f"{shown} is under the threshold {request.threshold}; "
                    "escalating to a stronger model",
                )
            return Decision(
                stop="plateau",
                reason=f"{shown} is under the threshold {request.threshold} and no stronger "
                "model is left to escalate to (revision is off)",
            )
        if self.stalled(rounds) >= 1 and len(rounds) >= 2:
            target = escalation_target()
            if target and target != last.model:
                return Decision(
                    stop=None,
                    strategy="escalate",
                    to_model=target,
                    reason=f"round {last.round} stalled ({shown}); escalating to a stronger model",
                )
        return Decision(
            stop=None,
            strategy="revise",
            to_model=last.model,
            reason=f"{shown} is under the threshold {request.threshold}; revising with critiques",
        )
