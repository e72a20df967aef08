"""Learned strong/weak router: how likely a prompt needs the strong model. Pure, CPU, numpy only.

Features: signed hashed word unigrams and bigrams (binary, L2-normalised per prompt) plus the
prompt-analysis features named in `router_features.ROUTER_FEATURES` (counts, domain scores,
complexity; the names are stored with the weights), log-scaled and standardised. Model:
logistic regression on soft targets in 0..1 with an L2 penalty, fitted by a small L-BFGS.
`strong_score` is the predicted probability; `route` compares it with one threshold, the single
knob that trades quality (low threshold) against cost (high threshold).
The weights round-trip through a JSON-able dict (`to_dict` / `from_dict`).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from orchestratex.engine.router_features import ROUTER_FEATURES, analysis_matrix, check_names

FORMAT = "orchestratex.learned-router/1"
HASH_BITS = 18
SCAN_CHARS = 3_000
"""Only the first SCAN_CHARS characters feed the hashed n-grams (analysis scans its own span)."""
DEFAULT_L2 = 3e-4
"""Chosen on a validation part of the training half (docs/benchmarks.md, Routing)."""
DEFAULT_ITERATIONS = 200

Route = Literal["strong", "weak"]
StopCheck = Callable[[], bool]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RouterVerdict:
    """A router's opinion of one prompt."""

    score: float
    """Calibrated P(the strong model is needed); the prior when `known` is False."""
    known: bool
    """False: the prompt is far from everything seen in training (selection uses its priors)."""
    nearest: float | None
    """Cosine similarity to the nearest training prompt (None when the router cannot tell)."""
    basis: str
    """What the score rests on: "embeddings", "analysis" (non-topical fallback) or "hashed"."""
    expert: str | None = None
    """The kind of prompt whose own model scored it (semantic router), None: the pooled model."""


class StrongWeakRouter(Protocol):
    """What selection needs of a router: a verdict per prompt."""

    def assess(self, prompt: str) -> RouterVerdict: ...

    def strong_scores(self, prompts: Sequence[str]) -> list[float]: ...


_TOKEN_RE = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def _bucket(token: str, bits: int) -> tuple[int, float]:
    """Stable hash of a token into 2**bits buckets, with a sign to cancel collisions."""
    h = zlib.crc32(token.encode("utf-8"))
    return h & ((1 << bits) - 1), (1.0 if (h >> 31) & 1 else -1.0)


def hashed_features(prompt: str, bits: int = HASH_BITS) -> tuple[IntArray, FloatArray]:
    """Bucket indices and values (binary, signed, unit L2 norm) of the prompt's n-grams."""
    tokens = _TOKEN_RE.findall(prompt[:SCAN_CHARS].lower())
    grams = set(tokens)
    grams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    cells: dict[int, float] = {}
    for gram in grams:
        index, sign = _bucket(gram, bits)
        cells[index] = cells.get(index, 0.0) + sign
    if not cells:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    idx = np.fromiter(cells.keys(), dtype=np.int64, count=len(cells))
    val = np.fromiter(cells.values(), dtype=np.float64, count=len(cells))
    norm = float(np.sqrt(np.sum(val * val)))
    return idx, (val / norm if norm > 0 else val)


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def _lbfgs(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    x0: FloatArray,
    iterations: int,
    memory: int = 10,
) -> FloatArray:
    """Minimise a smooth convex objective with limited-memory BFGS and Armijo backtracking."""
    x = x0
    f, g = objective(x)
    history: list[tuple[FloatArray, FloatArray, float]] = []
    for _ in range(iterations):
        q = g.copy()
        alphas: list[float] = []
        for s, y, rho in reversed(history):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        if history:
            s, y, _ = history[-1]
            q *= float(s @ y) / float(y @ y)
        else:
            q /= max(float(np.linalg.norm(g)), 1.0)
        for (s, y, rho), a in zip(history, reversed(alphas), strict=True):
            q += s * (a - rho * float(y @ q))
        direction = -q
        slope = float(g @ direction)
        if slope >= 0.0:
            history.clear()
            direction, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            x_new = x + step * direction
            f_new, g_new = objective(x_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-8:
                break
            step *= 0.5
        s_k, y_k = x_new - x, g_new - g
        sy = float(s_k @ y_k)
        if sy > 1e-12:
            history.append((s_k, y_k, 1.0 / sy))
            if len(history) > memory:
                history.pop(0)
        converged = abs(f - f_new) <= 1e-9 * max(1.0, abs(f))
        x, f, g = x_new, f_new, g_new
        if converged or float(np.max(np.abs(g))) < 1e-7:
            break
    return x


class TrainingStopped(Exception):
    """`LearnedRouter.fit` gave up because its `stop` check said so."""


class LearnedRouter:
    """Predicts the chance that a prompt needs the strong model rather than the weak one."""

    def __init__(
        self,
        *,
        dense_names: Sequence[str] = (),
        dense_mean: Sequence[float] = (),
        dense_std: Sequence[float] = (),
        dense_weight: Sequence[float] = (),
        hashed_weight: Mapping[int, float] | None = None,
        bias: float = 0.0,
        bits: int = HASH_BITS,
        l2: float = DEFAULT_L2,
        iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        if not (len(dense_names) == len(dense_mean) == len(dense_std) == len(dense_weight)):
            raise ValueError("dense feature names, means, stds and weights differ in length")
        self.bits = bits
        self.l2 = l2
        self.iterations = iterations
        self.dense_names = tuple(dense_names)
        self._mean = np.asarray(dense_mean, dtype=np.float64)
        self._std = np.asarray(dense_std, dtype=np.float64)
        self._dense_w = np.asarray(dense_weight, dtype=np.float64)
        self._hashed_w = np.zeros(1 << bits, dtype=np.float64)
        for index, weight in (hashed_weight or {}).items():
            self._hashed_w[int(index)] = weight
        self.bias = float(bias)

    # ----- training -------------------------------------------------------------------------
    def fit(
        self,
        prompts: Sequence[str],
        targets: Sequence[float],
        *,
        seed: int = 0,
        stop: StopCheck | None = None,
    ) -> LearnedRouter:
        """Fit on prompts with targets in 0..1 (1 = the strong model is needed). Deterministic.

        `seed` fixes the small random initial weights, so refits are reproducible. `stop` is
        asked between steps; when it returns True, fit raises TrainingStopped (the router is
        then left as it was).
        """
        if len(prompts) != len(targets) or not prompts:
            raise ValueError("fit needs as many targets as prompts, and at least one")

        def check() -> None:
            if stop is not None and stop():
                raise TrainingStopped("training stopped")

        y = np.clip(np.asarray(targets, dtype=np.float64), 0.0, 1.0)
        n = len(prompts)
        names, dense = analysis_matrix(prompts, ROUTER_FEATURES)
        check()
        mean = dense.mean(axis=0)
        std = np.where(dense.std(axis=0) > 1e-9, dense.std(axis=0), 1.0)
        dense = (dense - mean) / std

        parts = [hashed_features(p, self.bits) for p in prompts]
        check()
        rows = np.concatenate(
            [np.full(len(i), r, dtype=np.int64) for r, (i, _) in enumerate(parts)]
        )
        cols_full = np.concatenate([i for i, _ in parts])
        vals = np.concatenate([v for _, v in parts])
        used, cols = np.unique(cols_full, return_inverse=True)
        k, d = len(used), dense.shape[1]
        lam = self.l2

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            check()
            w_h, w_d, b = theta[:k], theta[k : k + d], theta[-1]
            z = np.bincount(rows, weights=vals * w_h[cols], minlength=n) + dense @ w_d + b
            p = _sigmoid(z)
            loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
            loss += 0.5 * lam * (float(w_h @ w_h) + float(w_d @ w_d))
            r = (p - y) / n
            grad = np.empty_like(theta)
            grad[:k] = np.bincount(cols, weights=vals * r[rows], minlength=k) + lam * w_h
            grad[k : k + d] = dense.T @ r + lam * w_d
            grad[-1] = float(r.sum())
            return loss, grad

        rng = np.random.default_rng(seed)
        theta0 = rng.normal(0.0, 1e-3, size=k + d + 1)
        mean_y = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        theta0[-1] = math.log(mean_y / (1.0 - mean_y))
        theta = _lbfgs(objective, theta0, self.iterations)
        self.dense_names = tuple(names)
        self._mean, self._std = mean, std
        self._hashed_w = np.zeros(1 << self.bits, dtype=np.float64)
        self._hashed_w[used] = theta[:k]
        self._dense_w = theta[k : k + d].copy()
        self.bias = float(theta[-1])
        return self

    # ----- inference ------------------------------------------------------------------------
    def strong_scores(self, prompts: Sequence[str]) -> list[float]:
        """`strong_score` of each prompt."""
        if not prompts:
            return []
        _, dense = analysis_matrix(prompts, self.dense_names)
        z = (dense - self._mean) / self._std @ self._dense_w + self.bias
        for r, prompt in enumerate(prompts):
            idx, val = hashed_features(prompt, self.bits)
            z[r] += float(val @ self._hashed_w[idx])
        return [float(s) for s in _sigmoid(z)]

    def strong_score(self, prompt: str) -> float:
        """Probability (0..1) that `prompt` needs the strong model; higher = send to strong."""
        return self.strong_scores([prompt])[0]

    def assess(self, prompt: str) -> RouterVerdict:
        """The score as a verdict; hashed words cannot tell an unseen topic, so always known."""
        return RouterVerdict(self.strong_score(prompt), True, None, "hashed")

    def route(self, prompt: str, threshold: float) -> Route:
        """ "strong" when the score reaches `threshold`: lower threshold, more strong calls."""
        return "strong" if self.strong_score(prompt) >= threshold else "weak"

    # ----- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able weights; `from_dict` restores an identical router."""
        nonzero = np.flatnonzero(self._hashed_w)
        return {
            "format": FORMAT,
            "bits": self.bits,
            "l2": self.l2,
            "iterations": self.iterations,
            "bias": self.bias,
            "dense_names": list(self.dense_names),
            "dense_mean": [float(v) for v in self._mean],
            "dense_std": [float(v) for v in self._std],
            "dense_weight": [float(v) for v in self._dense_w],
            "hashed_index": [int(i) for i in nonzero],
            "hashed_weight": [float(self._hashed_w[i]) for i in nonzero],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LearnedRouter:
        """Rebuild a router from `to_dict` output; ValueError on another format."""
        if data.get("format") != FORMAT:
            raise ValueError(f"not a learned router (format {data.get('format')!r})")
        index = [int(i) for i in data["hashed_index"]]
        weight = [float(v) for v in data["hashed_weight"]]
        if len(index) != len(weight):
            raise ValueError("hashed_index and hashed_weight differ in length")
        names = check_names([str(n) for n in data["dense_names"]])
        return cls(
            dense_names=names,
            dense_mean=[float(v) for v in data["dense_mean"]],
            dense_std=[float(v) for v in data["dense_std"]],
            dense_weight=[float(v) for v in data["dense_weight"]],
            hashed_weight=dict(zip(index, weight, strict=True)),
            bias=float(data["bias"]),
            bits=int(data["bits"]),
            l2=float(data["l2"]),
            iterations=int(data["iterations"]),
        )
