"""Learned selection lived as a deployment would: the recorded data replayed in arrival order.

Prompts of all three benchmarks arrive one by one in a seeded order. Two deployments run side by
side, each with its own history: "priors" selects with the catalog priors updated by its
per-domain judged history (the selection as it was), "learned" adds the per-prompt quality model
(engine/learned_quality.py) retrained every `retrain_every` prompts on its own history so far.
Each selection is scored on what the chosen model actually got in the recordings (MT-Bench: the
GPT-4 judge's score, MMLU/GSM8K: 10 if correct else 0: reference labels, an upper bound on what
judges would see) and costed at the model's price for the prompt's tokens. Only the chosen
model's outcome enters the history (what a deployment sees). Repeated at several cost weights,
this gives quality at each cost level for both.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_embed_cache import cached_embeddings
from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.orchestration import Analysis, Preferences
from orchestratex.core.performance import PerformanceStats
from orchestratex.core.types import Domain
from orchestratex.engine.analysis import analyze
from orchestratex.engine.embeddings import Embedder
from orchestratex.engine.estimates import QualityEstimate
from orchestratex.engine.learned_quality import DEFAULT_MIN_HISTORY, QualityModel
from orchestratex.engine.router_features import analysis_matrix
from orchestratex.engine.selection import Selector
from orchestratex.providers.replay_catalog import ANSWER_MODELS, replay_catalog

COST_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
DEFAULT_RETRAIN_EVERY = 200
OUTPUT_TOKENS = 300
FALLBACK_PRICES = {
    ANSWER_MODELS[0]: Price(input_per_mtok=10.0, output_per_mtok=30.0, source="bench"),
    ANSWER_MODELS[1]: Price(input_per_mtok=0.7, output_per_mtok=0.7, source="bench"),
}


class ArmPoint(BaseModel):
    cost_weight: float
    mean_cost_usd: float
    mean_quality: float
    strong_share: float


class ReplayReport(BaseModel):
    prompts: int
    features: str
    retrain_every: int
    min_history: int
    priors: list[ArmPoint]
    learned: list[ArmPoint]
    gain_at_equal_cost: list[float | None]
    """Learned quality minus the priors' curve interpolated at the learned point's cost."""


@dataclass(slots=True)
class _Precomputed:
    """Per-prompt estimates table for the learned arm (features computed once)."""

    raw: np.ndarray
    emb: np.ndarray | None
    index: dict[str, int]
    model: QualityModel | None = None

    def estimates(self, prompt: str) -> dict[str, QualityEstimate]:
        if self.model is None:
            return {}
        row = self.index[prompt]
        return self.model.estimates_from(self.raw[row], None if self.emb is None else self.emb[row])


@dataclass(slots=True)
class _History:
    rows: list[tuple[int, str, float]] = field(default_factory=list)
    sums: dict[tuple[str, Domain], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    )

    def add(self, row: int, model: str, domain: Domain, score: float, cost: float) -> None:
        self.rows.append((row, model, score))
        s = self.sums[(model, domain)]
        s[0] += 1
        s[1] += score
        s[2] += score * score
        s[3] += cost

    def stats(self) -> list[PerformanceStats]:
        out = []
        for (model, domain), (n, total, sq, cost) in self.sums.items():
            mean = total / n
            out.append(
                PerformanceStats(
                    model=model,
                    domain=domain,
                    samples=int(n),
                    mean_score=mean,
                    score_variance=max(sq / n - mean * mean, 0.0),
                    successes=int(n),
                    failures=0,
                    mean_latency_ms=0.0,
                    mean_cost_usd=cost / n,
                )
            )
        return out


def _quality(item: RoutingItem, model: str) -> float:
    value = item.strong if model == ANSWER_MODELS[0] else item.weak
    return value if item.benchmark == "mt_bench" else 10.0 * value


def _order(items: Sequence[RoutingItem], seed: int) -> list[RoutingItem]:
    def key(it: RoutingItem) -> bytes:
        return hashlib.sha256(f"{seed}\x1f{it.benchmark}\x1f{it.prompt}".encode()).digest()

    return sorted(items, key=key)


def _models() -> tuple[list[ModelSpec], dict[str, Price | None]]:
    catalog = replay_catalog()
    specs = [catalog.models[k] for k in ANSWER_MODELS]
    prices: dict[str, Price | None] = {s.key: s.price or FALLBACK_PRICES[s.key] for s in specs}
    return specs, prices


def _run_arm(
    stream: Sequence[RoutingItem],
    analyses: Sequence[Analysis],
    table: _Precomputed | None,
    names: Sequence[str],
    cost_weight: float,
    retrain_every: int,
    min_history: int,
) -> ArmPoint:
    specs, prices = _models()
    selector = Selector(specs, prices, quality_model=table)
    history = _History()
    prefs = Preferences(quality_weight=1.0 - cost_weight, cost_weight=cost_weight, latency_weight=0)
    quality = cost = strong = 0.0
    for i, (item, analysis) in enumerate(zip(stream, analyses, strict=True)):
        if table is not None and i and i % retrain_every == 0:
            rows = [r for r, _, _ in history.rows]
            table.model = QualityModel.fit_arrays(
                names,
                table.raw[rows],
                [m for _, m, _ in history.rows],
                [s for _, _, s in history.rows],
                min_history=min_history,
                emb=None if table.emb is None else table.emb[rows],
            )
        tokens_in = max(len(item.prompt) // 4, 1)
        decision = selector.select(
            analysis,
            prefs,
            performance=history.stats(),
            expected_input_tokens=tokens_in,
            expected_output_tokens=OUTPUT_TOKENS,
            prompt=item.prompt,
        )
        model = decision.model
        price = prices[model]
        assert price is not None
        spent = (tokens_in * price.input_per_mtok + OUTPUT_TOKENS * price.output_per_mtok) / 1e6
        got = _quality(item, model)
        history.add(i, model, analysis.domain, got, spent)
        quality += got
        cost += spent
        strong += model == ANSWER_MODELS[0]
    n = len(stream)
    return ArmPoint(
        cost_weight=cost_weight,
        mean_cost_usd=cost / n,
        mean_quality=quality / n,
        strong_share=strong / n,
    )


def run_replay(
    items: Sequence[RoutingItem],
    *,
    seed: int = 0,
    limit: int | None = None,
    retrain_every: int = DEFAULT_RETRAIN_EVERY,
    min_history: int = DEFAULT_MIN_HISTORY,
    cost_weights: Sequence[float] = COST_WEIGHTS,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
) -> ReplayReport:
    """Replay `items` (the first `limit` of the seeded order) through both deployments; the
    learned model also reads prompt embeddings when `embedder` is given."""
    stream = _order(items, seed)[:limit]
    emb = (
        None
        if embedder is None
        else cached_embeddings([it.prompt for it in stream], embedder, cache_dir)
    )
    analyses = [analyze(it.prompt) for it in stream]
    names, raw = analysis_matrix([it.prompt for it in stream])
    index = {it.prompt: i for i, it in enumerate(stream)}
    priors, learned = [], []
    for w in cost_weights:
        priors.append(_run_arm(stream, analyses, None, names, w, retrain_every, min_history))
        table = _Precomputed(raw, emb, index)
        learned.append(_run_arm(stream, analyses, table, names, w, retrain_every, min_history))
    curve = sorted(priors, key=lambda p: p.mean_cost_usd)
    xs = [p.mean_cost_usd for p in curve]
    ys = [p.mean_quality for p in curve]
    gains: list[float | None] = []
    for p in learned:
        inside = xs[0] <= p.mean_cost_usd <= xs[-1]
        gains.append(float(p.mean_quality - np.interp(p.mean_cost_usd, xs, ys)) if inside else None)
    return ReplayReport(
        prompts=len(stream),
        features="analysis" if embedder is None else f"analysis + {embedder.name}",
        retrain_every=retrain_every,
        min_history=min_history,
        priors=priors,
        learned=learned,
        gain_at_equal_cost=gains,
    )


def format_replay(report: ReplayReport) -> str:
    out = [
        f"Live-deployment replay: {report.prompts} prompts in arrival order; learned model "
        f"on {report.features}, "
        f"retrained every {report.retrain_every} prompts, used per model after "
        f"{report.min_history} judged answers",
        f"  {'cost w':>6}  {'priors $/prompt':>15}{'quality':>8}{'strong':>8}  "
        f"{'learned $/prompt':>16}{'quality':>8}{'strong':>8}{'gain@cost':>10}",
    ]
    for p, q, g in zip(report.priors, report.learned, report.gain_at_equal_cost, strict=True):
        gain = "-" if g is None else f"{g:+.3f}"
        out.append(
            f"  {p.cost_weight:>6.2f}  {p.mean_cost_usd:>15.5f}{p.mean_quality:>8.3f}"
            f"{p.strong_share:>8.1%}  {q.mean_cost_usd:>16.5f}{q.mean_quality:>8.3f}"
            f"{q.strong_share:>8.1%}{gain:>10}"
        )
    return "\n".join(out)
