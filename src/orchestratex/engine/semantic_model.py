"""The numeric core of the semantic router: ridge and nearest-neighbour scores on feature arrays.

Pure numpy on precomputed arrays (embedding rows `emb`, standardised analysis rows `ana`), so
that the benchmark can try many settings on features computed once. A setting (`RouterConfig`)
names the model: "ridge" (a linear model on both feature blocks, penalty `alpha`, fitted on the
target: how much the strong model is needed), "knn" (mean target of the `k` most similar
training prompts by cosine similarity of embeddings), or "blend" (the mean of the two). Without
embeddings only "ridge" on the analysis features is possible: the non-topical fallback.
`numbers` says whether the analysis block also holds the number-and-step counts (the caller
passes the matching columns). `within` > 0 adds the within-subject part to a ridge
(engine/semantic_within.py); fitting it needs each training row's group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from orchestratex.engine.semantic_within import fit_within, scaled_within

FloatArray = npt.NDArray[np.float64]
ModelKind = Literal["ridge", "knn", "blend"]
KNN_CHUNK = 512
TIE_BREAK_SLOPE = 0.002
"""Calibration slope per standard deviation of the raw scores when the fitted one is not
positive: no evidence beyond the order, so the prior, with the raw order kept as a tie-break.
A score 20 standard deviations from the mean moves the probability by at most 0.01."""


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """One setting of the semantic router."""

    model: ModelKind = "ridge"
    alpha: float = 1.0
    k: int = 50
    embeddings: bool = True
    numbers: bool = False
    """Also read the number-and-step counts (engine/router_features.NUMBER_FEATURES)."""
    within: float = 0.0
    """Weight of the within-subject part (0: none; ridge settings only)."""
    within_alpha: float = 10.0
    """Ridge penalty of the within-subject part."""

    @property
    def label(self) -> str:
        numbers = " +numbers" if self.numbers else ""
        within = f" +within {self.within:g} a={self.within_alpha:g}" if self.within else ""
        return self._base_label + numbers + within

    @property
    def _base_label(self) -> str:
        if not self.embeddings:
            return f"analysis ridge a={self.alpha:g}"
        if self.model == "ridge":
            return f"emb+analysis ridge a={self.alpha:g}"
        if self.model == "knn":
            return f"emb knn k={self.k}"
        return f"emb blend a={self.alpha:g} k={self.k}"

    def uses_ridge(self) -> bool:
        return self.model in ("ridge", "blend") or not self.embeddings

    def uses_knn(self) -> bool:
        return self.embeddings and self.model in ("knn", "blend")

    def base(self) -> RouterConfig:
        """The same setting without the within-subject part."""
        return RouterConfig(self.model, self.alpha, self.k, self.embeddings, self.numbers)


@dataclass(slots=True)
class FittedModel:
    """What scoring needs: ridge weights and/or the neighbour table."""

    config: RouterConfig
    weight: FloatArray
    intercept: float
    ref_emb: FloatArray | None
    ref_target: FloatArray | None
    within: FloatArray | None = None
    """Weights of the within-subject part on the analysis features, scaled (None: no part)."""


def design(emb: FloatArray | None, ana: FloatArray, config: RouterConfig) -> FloatArray:
    """The ridge design matrix: analysis features, then embeddings (scaled to unit column
    variance on average) when the setting uses them."""
    if emb is None or not config.embeddings:
        return ana
    return np.hstack([ana, emb * math.sqrt(emb.shape[1])])


def fit_model(
    emb: FloatArray | None,
    ana: FloatArray,
    target: FloatArray,
    config: RouterConfig,
    groups: Sequence[str] | None = None,
) -> FittedModel:
    """Fit `config` on rows of features and their targets (`groups`: each row's subject or
    benchmark, needed by the within-subject part)."""
    if config.embeddings and emb is None:
        raise ValueError(f"{config.label} needs embeddings")
    if config.within and (groups is None or config.uses_knn()):
        raise ValueError(f"{config.label}: the within part needs a ridge and the rows' groups")
    n = len(target)
    intercept = float(target.mean())
    weight: FloatArray = np.zeros(0, dtype=np.float64)
    if config.uses_ridge():
        x = design(emb, ana, config)
        gram = x.T @ x / n + config.alpha * np.eye(x.shape[1])
        weight = np.asarray(np.linalg.solve(gram, x.T @ (target - intercept) / n), np.float64)
    ref_emb = emb if config.uses_knn() or (config.embeddings and emb is not None) else None
    within = None
    if config.within and groups is not None:
        base_sd = float((design(emb, ana, config) @ weight).std())
        beta = fit_within(ana, target, groups, config.within_alpha)
        within = scaled_within(beta, ana, config.within, base_sd)
    return FittedModel(config, weight, intercept, ref_emb, target.copy(), within)


def knn_scores(ref: FloatArray, ref_target: FloatArray, emb: FloatArray, k: int) -> FloatArray:
    """Mean target of the `k` nearest reference rows of each row of `emb` (cosine)."""
    k = max(1, min(k, len(ref)))
    out = np.empty(len(emb), dtype=np.float64)
    for start in range(0, len(emb), KNN_CHUNK):
        sims = emb[start : start + KNN_CHUNK] @ ref.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[start : start + KNN_CHUNK] = ref_target[top].mean(axis=1)
    return out


def nearest_similarity(ref: FloatArray, emb: FloatArray) -> FloatArray:
    """Cosine similarity of each row of `emb` to its nearest reference row."""
    out = np.empty(len(emb), dtype=np.float64)
    for start in range(0, len(emb), KNN_CHUNK):
        out[start : start + KNN_CHUNK] = (emb[start : start + KNN_CHUNK] @ ref.T).max(axis=1)
    return out


def raw_scores(model: FittedModel, emb: FloatArray | None, ana: FloatArray) -> FloatArray:
    """Predicted target of each row (higher: the strong model is needed more)."""
    config = model.config
    parts: list[FloatArray] = []
    if config.uses_ridge():
        parts.append(design(emb, ana, config) @ model.weight + model.intercept)
    if config.uses_knn():
        if emb is None or model.ref_emb is None or model.ref_target is None:
            raise ValueError(f"{config.label} needs embeddings")
        parts.append(knn_scores(model.ref_emb, model.ref_target, emb, config.k))
    out: FloatArray = np.mean(parts, axis=0)
    if model.within is not None:
        out = out + ana @ model.within
    return out


def _logloss(z: FloatArray, need: FloatArray) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - need * z))


def platt(raw: FloatArray, need: FloatArray, iterations: int = 50) -> tuple[float, float]:
    """(a, b) so that sigmoid(a * raw + b) estimates P(strong needed): damped Newton steps on
    the mean log-loss (soft labels in 0..1 allowed), from the constant prior. Never a <= 0:
    a fitted slope that is not positive gives the prior's intercept and TIE_BREAK_SLOPE."""
    mu = float(raw.mean())
    scale = float(raw.std()) or 1.0
    x = (raw - mu) / scale
    p0 = float(np.clip(need.mean(), 1e-4, 1.0 - 1e-4))
    prior = math.log(p0 / (1.0 - p0))
    slope, intercept = _newton(x, need, prior, iterations)
    if slope <= 0.0:
        # Held-out scores that run backwards (or flat) are evidence of nothing beyond the
        # order: inverting would turn the in-distribution ranking upside down, and a flat
        # prior would throw the order away (every prompt tied); keep it as a tie-break.
        slope, intercept = TIE_BREAK_SLOPE, prior
    a = slope / scale
    return a, intercept - a * mu


def _newton(x: FloatArray, need: FloatArray, prior: float, iterations: int) -> tuple[float, float]:
    """Slope and intercept on standardised scores `x` minimising the mean log-loss."""
    theta = np.array([0.0, prior])
    loss = _logloss(theta[0] * x + theta[1], need)
    for _ in range(iterations):
        z = theta[0] * x + theta[1]
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        r = p - need
        g = np.array([float((r * x).mean()), float(r.mean())])
        w = p * (1.0 - p)
        h = np.array([[float((w * x * x).mean()), float((w * x).mean())], [0.0, float(w.mean())]])
        h[1, 0] = h[0, 1]
        step = np.linalg.solve(h + 1e-6 * np.eye(2), g)
        t = 1.0
        while t > 1e-4:
            candidate = theta - t * step
            new = _logloss(candidate[0] * x + candidate[1], need)
            if new <= loss:
                break
            t *= 0.5
        else:
            break
        theta, done = candidate, loss - new < 1e-10
        loss = new
        if done:
            break
    return float(theta[0]), float(theta[1])
