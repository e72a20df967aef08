"""A measured cascade: answer with the weak model, escalate to the strong one on the verdict.

Every prompt is first answered by the weak model; when the verdict on that answer is below a
threshold, the strong model answers too and its answer is kept. Sweeping the threshold gives a
curve of (share of prompts escalated = strong calls, mean quality), measured with the same APGR
as the routers (bench/routing_metrics.py), so the two compare directly; the weak call is paid on
every prompt, which the strong-call share does not show.

- MT-Bench: the verdict is the recorded GPT-4 judge score of the weak answer (a real judge).
  The same judgements define quality, so the figure is what a judge as good as GPT-4 buys.
- GSM8K: the verdict is the reference label (weak answer right or wrong): an **upper bound**, the
  cascade with a perfect judge, never a judge's skill.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from orchestratex.bench.routing_data import RoutingItem, RoutingSet
from orchestratex.bench.routing_metrics import CurvePoint, apgr


class CascadeResult(BaseModel):
    benchmark: str
    verdict: str
    prompts: int
    apgr: float
    escalated_at_80: float | None
    """Least share escalated at which quality reaches weak + 80% of the gap (None: never)."""
    curve: list[tuple[float, float]]


def cascade_curve(items: Sequence[RoutingItem], verdicts: Sequence[float]) -> list[CurvePoint]:
    """(threshold, escalated share, quality) for every distinct threshold, by share."""
    cuts = sorted(set(verdicts)) + [float("inf")]
    out = []
    n = len(items)
    for cut in cuts:
        up = [v < cut for v in verdicts]
        quality = sum(it.strong if u else it.weak for it, u in zip(items, up, strict=True)) / n
        out.append(CurvePoint(cut, sum(up) / n, quality))
    out.sort(key=lambda p: (p.strong_share, p.quality))
    return out


def measure(items: Sequence[RoutingItem], verdicts: Sequence[float], how: str) -> CascadeResult:
    curve = cascade_curve(items, verdicts)
    weak = sum(it.weak for it in items) / len(items)
    strong = sum(it.strong for it in items) / len(items)
    target = weak + 0.8 * (strong - weak)
    reach = next((p.strong_share for p in curve if p.quality >= target), None)
    return CascadeResult(
        benchmark=items[0].benchmark,
        verdict=how,
        prompts=len(items),
        apgr=apgr(curve, weak, strong),
        escalated_at_80=reach,
        curve=[(round(p.strong_share, 4), round(p.quality, 4)) for p in curve],
    )


def run_cascade(sets: dict[str, RoutingSet]) -> list[CascadeResult]:
    """The cascade on MT-Bench (GPT-4 verdicts) and GSM8K (reference labels, upper bound)."""
    out = []
    if "mt_bench" in sets and sets["mt_bench"].items:
        items = list(sets["mt_bench"].items)
        out.append(measure(items, [it.weak for it in items], "GPT-4 judge score of the answer"))
    if "gsm8k" in sets and sets["gsm8k"].items:
        items = list(sets["gsm8k"].items)
        out.append(
            measure(items, [it.weak for it in items], "reference label (upper bound, not a judge)")
        )
    return out


def format_cascade(results: Sequence[CascadeResult]) -> str:
    lines = ["Cascade: weak model first, escalate to strong when the verdict is below a threshold"]
    for r in results:
        reach = "never" if r.escalated_at_80 is None else f"{r.escalated_at_80:.1%}"
        lines.append(
            f"  {r.benchmark}: {r.prompts} prompts, verdict = {r.verdict}: APGR {r.apgr:.3f}, "
            f"80% of the gap at {reach} escalated"
        )
    return "\n".join(lines)
