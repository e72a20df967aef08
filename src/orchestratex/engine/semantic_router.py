"""Semantic strong/weak router: embeddings + analysis features, calibrated, with an OOD check.

Features: the prompt's sentence embedding (engine/embeddings.py, optional extra) and the
prompt-analysis features it was fitted with (`names`, stored with it; the benchmark and the
service fit on engine/router_features.ROUTER_FEATURES), log-scaled and standardised. No hashed
words: they name the topic, so a router built on them learns which topics the strong model wins
and routes new topics backwards.
The model is a `RouterConfig` (engine/semantic_model.py) fitted on how much the strong model is
needed; its raw score is calibrated (Platt) into P(strong model needed) on out-of-fold scores.
Kinds of prompt that held-out folds showed are ranked better by a model of their own (GSM8K-like
math word problems in the recorded data) have an `Expert` (engine/semantic_kinds.py): a gate
names the prompt's kind, and that kind's expert, with its own calibration, gives the score.

Out of distribution: with embeddings, a prompt whose nearest training prompt is less similar than
`ood_threshold` (a low quantile of how close held-out training prompts are to the rest) is
"unknown": `assess` says so and gives the prior instead of a guess, and selection falls back to
its priors. Without embeddings (the extra absent) the router uses the analysis features alone
and cannot tell how far a prompt is; `basis` says which.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from orchestratex.engine.embeddings import INSTALL_HINT, Embedder, FloatArray
from orchestratex.engine.router import RouterVerdict
from orchestratex.engine.router_features import analysis_matrix, check_names
from orchestratex.engine.semantic_kinds import Expert, KindGate
from orchestratex.engine.semantic_model import (
    FittedModel,
    RouterConfig,
    nearest_similarity,
    platt,
    raw_scores,
)

FORMAT = "orchestratex.semantic-router/4"
OLD_FORMATS = (
    "orchestratex.semantic-router/3",
    "orchestratex.semantic-router/2",
    "orchestratex.semantic-router/1",
)
"""Formats `from_dict` still reads (/3: no within-subject part; /2: every expert reads the
router's `names`; /1: no kinds, no experts)."""


def _pack(array: FloatArray) -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype=np.float16)
    return {"shape": list(data.shape), "f16": base64.b64encode(data.tobytes()).decode("ascii")}


def _unpack(packed: Mapping[str, Any]) -> FloatArray:
    raw = base64.b64decode(str(packed["f16"]))
    shape = tuple(int(s) for s in packed["shape"])
    out: FloatArray = np.frombuffer(raw, dtype=np.float16).astype(np.float64).reshape(shape)
    return out


class SemanticRouter:
    """A fitted semantic router; `embedder` must match `embedding_model` when it uses embeddings."""

    def __init__(
        self,
        *,
        model: FittedModel,
        names: Sequence[str],
        mean: FloatArray,
        std: FloatArray,
        calibration: tuple[float, float],
        prior: float,
        ood_threshold: float | None,
        embedding_model: str | None,
        embedder: Embedder | None = None,
        gate: KindGate | None = None,
        experts: Mapping[str, Expert] | None = None,
    ) -> None:
        self.model = model
        self.gate = gate
        self.experts = dict(experts or {})
        if self.experts and (gate is None or not set(self.experts) <= set(gate.kinds)):
            raise ValueError("experts need a gate that knows their kinds")
        self.names = tuple(names)
        if model.within is not None and len(model.within) != len(self.names):
            raise ValueError("the within-subject weights do not match the router's features")
        extra = [n for e in self.experts.values() for n in e.names if n not in self.names]
        self.read_names = self.names + tuple(dict.fromkeys(extra))
        """What scoring computes: `names` (the pooled model's and the gate's), then the
        features only an expert reads."""
        self._expert_cols = {
            kind: np.asarray([self.read_names.index(n) for n in e.names or self.names], np.int64)
            for kind, e in self.experts.items()
        }
        self._mean, self._std = mean, std
        self.calibration = calibration
        self.prior = prior
        self.ood_threshold = ood_threshold
        self.embedding_model = embedding_model
        self.embedder = embedder
        if self.uses_embeddings and embedder is not None and embedder.name != embedding_model:
            raise ValueError(f"router needs {embedding_model} embeddings, got {embedder.name}")

    @property
    def config(self) -> RouterConfig:
        return self.model.config

    @property
    def uses_embeddings(self) -> bool:
        return self.model.config.embeddings

    def standardise(self, raw: FloatArray) -> FloatArray:
        out: FloatArray = (raw - self._mean) / self._std
        return out

    # ----- scoring ----------------------------------------------------------------------------
    def assess_arrays(self, emb: FloatArray | None, ana_raw: FloatArray) -> list[RouterVerdict]:
        """Verdicts from precomputed features (embeddings, raw analysis rows in `read_names`
        order)."""
        ana = self.standardise(ana_raw[:, : len(self.names)])
        if self.uses_embeddings and emb is None:
            raise ValueError("this router needs embeddings")
        raw = raw_scores(self.model, emb, ana)
        a, b = self.calibration
        probs = 0.5 * (1.0 + np.tanh(0.5 * (a * raw + b)))
        expert_of: list[str | None] = [None] * len(probs)
        if self.gate is not None and self.experts:
            kinds = self.gate.classify(emb, ana)
            for name, expert in self.experts.items():
                rows = np.flatnonzero(kinds == self.gate.kinds.index(name))
                if len(rows):
                    sub = None if emb is None else emb[rows]
                    own = ana_raw[np.ix_(rows, self._expert_cols[name])]
                    probs[rows] = expert.probabilities(sub, own)
                    for r in rows:
                        expert_of[int(r)] = name
        nearest: FloatArray | None = None
        if self.uses_embeddings and emb is not None and self.model.ref_emb is not None:
            nearest = nearest_similarity(self.model.ref_emb, emb)
        out: list[RouterVerdict] = []
        for i, p in enumerate(probs):
            near = None if nearest is None else float(nearest[i])
            known = near is None or self.ood_threshold is None or near >= self.ood_threshold
            out.append(
                RouterVerdict(
                    score=float(p) if known else self.prior,
                    known=known,
                    nearest=near,
                    basis="embeddings" if self.uses_embeddings else "analysis",
                    expert=expert_of[i] if known else None,
                )
            )
        return out

    def assess_many(self, prompts: Sequence[str]) -> list[RouterVerdict]:
        if not prompts:
            return []
        emb: FloatArray | None = None
        if self.uses_embeddings:
            if self.embedder is None:
                raise RuntimeError(
                    f"this router needs {self.embedding_model} embeddings: {INSTALL_HINT}"
                )
            emb = self.embedder.embed(prompts)
        _, ana = analysis_matrix(prompts, self.read_names)
        return self.assess_arrays(emb, ana)

    def assess(self, prompt: str) -> RouterVerdict:
        return self.assess_many([prompt])[0]

    def strong_scores(self, prompts: Sequence[str]) -> list[float]:
        return [v.score for v in self.assess_many(prompts)]

    def strong_score(self, prompt: str) -> float:
        return self.assess(prompt).score

    # ----- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            **_model_dict(self.model),
            **_refs_dict(self.model),
            "names": list(self.names),
            "mean": [float(v) for v in self._mean],
            "std": [float(v) for v in self._std],
            "calibration": list(self.calibration),
            "prior": self.prior,
            "ood_threshold": self.ood_threshold,
            "embedding_model": self.embedding_model,
            "gate": None if self.gate is None else _gate_dict(self.gate),
            "experts": [
                {
                    "kind": e.kind,
                    "names": list(e.names),
                    **_model_dict(e.model),
                    **_refs_dict(e.model),
                    "mean": [float(v) for v in e.mean],
                    "std": [float(v) for v in e.std],
                    "calibration": list(e.calibration),
                }
                for e in self.experts.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], embedder: Embedder | None) -> SemanticRouter:
        if data.get("format") not in (FORMAT, *OLD_FORMATS):
            raise ValueError(f"not a semantic router (format {data.get('format')!r})")
        model = _model_from(data, *_refs_from(data))
        a, b = (float(v) for v in data["calibration"])
        threshold = data["ood_threshold"]
        gate = data.get("gate")
        experts = {
            str(e["kind"]): Expert(
                str(e["kind"]),
                _model_from(e, *_refs_from(e)),
                np.asarray(e["mean"], float),
                np.asarray(e["std"], float),
                (float(e["calibration"][0]), float(e["calibration"][1])),
                tuple(check_names([str(n) for n in e.get("names", [])])),
            )
            for e in data.get("experts", [])
        }
        return cls(
            model=model,
            names=check_names([str(n) for n in data["names"]]),
            mean=np.asarray(data["mean"], float),
            std=np.asarray(data["std"], float),
            calibration=(a, b),
            prior=float(data["prior"]),
            ood_threshold=None if threshold is None else float(threshold),
            embedding_model=data["embedding_model"],
            embedder=embedder,
            gate=None if gate is None else _gate_from(gate),
            experts=experts,
        )


def _model_dict(model: FittedModel) -> dict[str, Any]:
    cfg = model.config
    return {
        "config": {
            "model": cfg.model,
            "alpha": cfg.alpha,
            "k": cfg.k,
            "embeddings": cfg.embeddings,
            "numbers": cfg.numbers,
            "within": cfg.within,
            "within_alpha": cfg.within_alpha,
        },
        "weight": [float(v) for v in model.weight],
        "intercept": model.intercept,
        "within": None if model.within is None else [float(v) for v in model.within],
    }


def _model_from(
    data: Mapping[str, Any], ref: FloatArray | None, target: FloatArray | None
) -> FittedModel:
    c = data["config"]
    config = RouterConfig(
        model=c["model"],
        alpha=float(c["alpha"]),
        k=int(c["k"]),
        embeddings=bool(c["embeddings"]),
        numbers=bool(c.get("numbers", False)),
        within=float(c.get("within", 0.0)),
        within_alpha=float(c.get("within_alpha", 10.0)),
    )
    within = data.get("within")
    return FittedModel(
        config,
        np.asarray(data["weight"], float),
        float(data["intercept"]),
        ref,
        target,
        None if within is None else np.asarray(within, float),
    )


def _refs_dict(model: FittedModel) -> dict[str, Any]:
    """The neighbour table (embeddings as float16, targets rounded)."""
    if model.ref_emb is None:
        return {"ref_emb": None, "ref_target": None}
    return {
        "ref_emb": _pack(model.ref_emb),
        "ref_target": None
        if model.ref_target is None
        else [round(float(v), 4) for v in model.ref_target],
    }


def _refs_from(data: Mapping[str, Any]) -> tuple[FloatArray | None, FloatArray | None]:
    ref = None if data.get("ref_emb") is None else _unpack(data["ref_emb"])
    target = None if data.get("ref_target") is None else np.asarray(data["ref_target"], float)
    return ref, target


def _gate_dict(gate: KindGate) -> dict[str, Any]:
    return {
        "kinds": list(gate.kinds),
        "embeddings": gate.embeddings,
        "weight": [[float(v) for v in row] for row in gate.weight],
        "x_mean": [float(v) for v in gate.x_mean],
        "y_mean": [float(v) for v in gate.y_mean],
    }


def _gate_from(data: Mapping[str, Any]) -> KindGate:
    return KindGate(
        kinds=tuple(str(k) for k in data["kinds"]),
        embeddings=bool(data["embeddings"]),
        weight=np.asarray(data["weight"], float),
        x_mean=np.asarray(data["x_mean"], float),
        y_mean=np.asarray(data["y_mean"], float),
    )


__all__ = ["FORMAT", "RouterVerdict", "SemanticRouter", "platt"]
