"""Learned per-model expected quality for a prompt, from a deployment's own judged history.

Any catalog: every model with at least `min_history` judged answers gets its own Bayesian ridge
regression of the judges' score (0..10) on the prompt-analysis features
(engine/router_features.ROUTER_FEATURES, stored with the model; log-scaled, standardised over
the whole history) and, when the `embeddings` extra is installed, the prompt's
sentence embedding (engine/embeddings.py): a deployment's topics recur, so knowing the topic is
what lets it learn where each of its models is strong. The prediction for a prompt is the
posterior mean, and its uncertainty the posterior std of that mean (coefficient uncertainty
plus the residual spread shrunk by the sample count), so selection's exploration bonus stays
meaningful. Models with too little history are left to the catalog priors. Pure numpy; JSON
round-trip for persistence.
"""

from __future__ import annotations

import base64
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from orchestratex.engine.embeddings import Embedder, FloatArray
from orchestratex.engine.estimates import SCALE, QualityEstimate
from orchestratex.engine.router_features import ROUTER_FEATURES, analysis_matrix, check_names

FORMAT = "orchestratex.quality-model/1"
DEFAULT_MIN_HISTORY = 20
"""Judged answers a model needs before its learned estimate replaces the priors."""
RIDGE = 100.0
"""Prior precision of the standardised coefficients relative to the noise (in samples); chosen
among 10, 100 and 1000 on the seed-0 replay (docs/benchmarks.md), checked on seed 1."""


class QualityEstimator(Protocol):
    """What selection needs: per-model expected quality for a prompt (models it knows)."""

    def estimates(self, prompt: str) -> dict[str, QualityEstimate]: ...


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One judged answer: the prompt, the model that answered, its judged score (0..10)."""

    prompt: str
    model: str
    score: float
    cost_usd: float = 0.0
    latency_ms: float = 0.0


@dataclass(slots=True)
class _PerModel:
    intercept: float
    weight: FloatArray
    precision_inv: FloatArray
    noise: float
    samples: int


class QualityModel:
    """Predicts each known model's judged quality for a prompt, with its uncertainty."""

    def __init__(
        self,
        *,
        names: Sequence[str],
        mean: FloatArray,
        std: FloatArray,
        models: Mapping[str, _PerModel],
        min_history: int = DEFAULT_MIN_HISTORY,
        embedding_model: str | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.names = tuple(names)
        self._mean, self._std = mean, std
        self._models = dict(models)
        self.min_history = min_history
        self.embedding_model = embedding_model
        self.embedder = embedder
        if (
            embedding_model is not None
            and embedder is not None
            and embedder.name != embedding_model
        ):
            raise ValueError(
                f"quality model needs {embedding_model} embeddings, got {embedder.name}"
            )

    @property
    def models(self) -> dict[str, int]:
        """Model key -> judged answers it was trained on."""
        return {k: m.samples for k, m in self._models.items()}

    @classmethod
    def fit(
        cls,
        rows: Sequence[HistoryRow],
        *,
        min_history: int = DEFAULT_MIN_HISTORY,
        embedder: Embedder | None = None,
    ) -> QualityModel:
        """Fit from judged history (empty history gives a model that knows no model)."""
        prompts = sorted({r.prompt for r in rows})
        names: list[str] = []
        raw: FloatArray = np.zeros((0, 0))
        if prompts:
            names, raw = analysis_matrix(prompts, ROUTER_FEATURES)
        where = {p: i for i, p in enumerate(prompts)}
        pick = [where[r.prompt] for r in rows]
        emb = None
        if embedder is not None and prompts:
            emb = embedder.embed(prompts)[pick]
        model = cls.fit_arrays(
            names,
            raw[pick] if rows else raw,
            [r.model for r in rows],
            [r.score for r in rows],
            min_history=min_history,
            emb=emb,
            embedding_model=None if embedder is None else embedder.name,
        )
        model.embedder = embedder
        return model

    @classmethod
    def fit_arrays(
        cls,
        names: Sequence[str],
        raw: FloatArray,
        models: Sequence[str],
        scores: Sequence[float],
        *,
        min_history: int = DEFAULT_MIN_HISTORY,
        emb: FloatArray | None = None,
        embedding_model: str | None = None,
    ) -> QualityModel:
        """Fit from precomputed raw analysis rows (one per judged answer, `names` order) and,
        optionally, embedding rows."""
        if len(raw) == 0:
            return cls(names=names, mean=np.zeros(len(names)), std=np.ones(len(names)), models={})
        mean = raw.mean(axis=0)
        std = raw.std(axis=0)
        std = np.where(std > 1e-9, std, 1.0)
        x_all = _design((raw - mean) / std, emb)
        by_model: dict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(models):
            by_model[key].append(i)
        fitted: dict[str, _PerModel] = {}
        for key, idx in by_model.items():
            if len(idx) < min_history:
                continue
            y = np.clip(np.asarray([scores[i] for i in idx], dtype=np.float64), 0.0, SCALE)
            fitted[key] = _fit_one(x_all[idx], y)
        return cls(
            names=names,
            mean=mean,
            std=std,
            models=fitted,
            min_history=min_history,
            embedding_model=embedding_model if emb is not None else None,
        )

    def estimates(self, prompt: str) -> dict[str, QualityEstimate]:
        """Expected quality (0..10) with its std, for every model the history covers."""
        if not self._models:
            return {}
        _, raw = analysis_matrix([prompt], self.names)
        emb = None
        if self.embedding_model is not None:
            if self.embedder is None:
                return {}
            emb = self.embedder.embed([prompt])[0]
        return self.estimates_from(raw[0], emb)

    def estimates_from(
        self, raw: FloatArray, emb: FloatArray | None = None
    ) -> dict[str, QualityEstimate]:
        """`estimates` from a raw analysis row in `names` order (and the embedding row when
        the model uses embeddings)."""
        x = _design(
            ((raw - self._mean) / self._std)[None, :], None if emb is None else emb[None, :]
        )[0]
        out: dict[str, QualityEstimate] = {}
        for key, m in self._models.items():
            mu = float(m.intercept + x @ m.weight)
            var = m.noise * (float(x @ m.precision_inv @ x) + 1.0 / m.samples)
            out[key] = QualityEstimate(
                min(max(mu, 0.0), SCALE), math.sqrt(max(var, 0.0)), m.samples
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "names": list(self.names),
            "mean": [float(v) for v in self._mean],
            "std": [float(v) for v in self._std],
            "min_history": self.min_history,
            "embedding_model": self.embedding_model,
            "models": {
                key: {
                    "intercept": m.intercept,
                    "weight": [float(v) for v in m.weight],
                    "precision_inv": _pack32(m.precision_inv),
                    "noise": m.noise,
                    "samples": m.samples,
                }
                for key, m in self._models.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a quality model (format {data.get('format')!r})")
        models = {
            str(key): _PerModel(
                intercept=float(m["intercept"]),
                weight=np.asarray(m["weight"], dtype=np.float64),
                precision_inv=_unpack32(m["precision_inv"]),
                noise=float(m["noise"]),
                samples=int(m["samples"]),
            )
            for key, m in dict(data["models"]).items()
        }
        return cls(
            names=check_names([str(n) for n in data["names"]]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            std=np.asarray(data["std"], dtype=np.float64),
            models=models,
            min_history=int(data["min_history"]),
            embedding_model=data.get("embedding_model"),
        )


def _design(ana: FloatArray, emb: FloatArray | None) -> FloatArray:
    """Analysis block, then the embedding block scaled to about unit column variance."""
    if emb is None:
        return ana
    return np.hstack([ana, emb * math.sqrt(emb.shape[1])])


def _pack32(array: FloatArray) -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype=np.float32)
    return {"shape": list(data.shape), "f32": base64.b64encode(data.tobytes()).decode("ascii")}


def _unpack32(packed: Mapping[str, Any]) -> FloatArray:
    raw = base64.b64decode(str(packed["f32"]))
    shape = tuple(int(v) for v in packed["shape"])
    out: FloatArray = np.frombuffer(raw, dtype=np.float32).astype(np.float64).reshape(shape)
    return out


def _fit_one(x: FloatArray, y: FloatArray) -> _PerModel:
    n, d = x.shape
    intercept = float(y.mean())
    gram = x.T @ x + RIDGE * np.eye(d)
    precision_inv = np.asarray(np.linalg.inv(gram), np.float64)
    weight = precision_inv @ (x.T @ (y - intercept))
    resid = y - intercept - x @ weight
    noise = float(resid @ resid) / max(n - 1, 1)
    return _PerModel(intercept, weight, precision_inv, max(noise, 1e-6), n)
