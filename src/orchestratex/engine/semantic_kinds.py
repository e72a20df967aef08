"""Kinds of prompt for the semantic router: a gate that names a prompt's kind, and per-kind experts.

One pooled model ranks every prompt; but a kind of prompt with enough training rows of its own
(math word problems, say) may be ranked better by a model fitted on that kind alone. Such a
model is an `Expert`: its own ridge weights and its own calibration. Which kinds get one is
decided on held-out folds of the training rows (bench/routing_select.py), never by hand.

The `KindGate` says which kind a prompt is: a linear classifier (least squares on the one-hot
kind, each kind weighted equally so that a small kind is not drowned by a large one) over the
same features the router reads. In the recorded data a prompt's kind is the benchmark it came
from; a deployment's prompt is routed by the expert of the kind it most resembles, or by the
pooled model when that kind has no expert. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orchestratex.engine.semantic_model import FittedModel, RouterConfig, design, raw_scores

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
GATE_ALPHA = 0.01
"""Ridge penalty of the gate (fixed, not tuned: the kinds of the recorded data are far apart)."""


@dataclass(slots=True)
class KindGate:
    """Linear one-vs-rest classifier of a prompt's kind."""

    kinds: tuple[str, ...]
    embeddings: bool
    weight: FloatArray
    """(features, kinds)"""
    x_mean: FloatArray
    y_mean: FloatArray

    def classify(self, emb: FloatArray | None, ana: FloatArray) -> IntArray:
        """Index into `kinds` of each row (standardised analysis rows, embeddings if used)."""
        x = design(emb if self.embeddings else None, ana, RouterConfig(embeddings=self.embeddings))
        out: IntArray = np.argmax((x - self.x_mean) @ self.weight + self.y_mean, axis=1).astype(
            np.int64
        )
        return out


def fit_gate(
    emb: FloatArray | None, ana: FloatArray, kinds: Sequence[str], *, alpha: float = GATE_ALPHA
) -> KindGate:
    """The gate fitted on rows of features and their kinds (at least two distinct kinds)."""
    names = tuple(sorted(set(kinds)))
    if len(names) < 2:
        raise ValueError("a gate needs at least two kinds")
    use_emb = emb is not None
    x = design(emb, ana, RouterConfig(embeddings=use_emb))
    index = np.asarray([names.index(k) for k in kinds], dtype=np.int64)
    y = np.eye(len(names))[index]
    w = 1.0 / np.bincount(index, minlength=len(names))[index]
    w = w / w.sum()
    x_mean = w @ x
    y_mean = w @ y
    xc = x - x_mean
    gram = (xc * w[:, None]).T @ xc + alpha * np.eye(x.shape[1])
    weight = np.linalg.solve(gram, (xc * w[:, None]).T @ (y - y_mean))
    return KindGate(names, use_emb, np.asarray(weight, np.float64), x_mean, y_mean)


@dataclass(slots=True)
class Expert:
    """The model of one kind of prompt, with its own standardisation and calibration."""

    kind: str
    model: FittedModel
    mean: FloatArray
    std: FloatArray
    calibration: tuple[float, float]
    names: tuple[str, ...] = ()
    """The analysis features it reads, in order (empty: its router's `names`)."""

    def probabilities(self, emb: FloatArray | None, ana_raw: FloatArray) -> FloatArray:
        """Calibrated P(strong model needed) from embeddings and raw analysis rows."""
        raw = raw_scores(self.model, emb, (ana_raw - self.mean) / self.std)
        a, b = self.calibration
        out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * (a * raw + b)))
        return out
