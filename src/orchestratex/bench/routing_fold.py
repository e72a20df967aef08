"""One inner fold's fitting work, shared by every setting of the grid.

Scoring a grid of settings on one (train, test) split repeats the same expensive steps: the
standardisation, the ridge Gram matrix (the same for every penalty) and the nearest-neighbour
search (the same for every k). `FoldWork` does each once: the Gram matrix is diagonalised, so
each penalty costs one small product, and the test rows' neighbours are sorted once up to the
largest k asked; the within-subject part is fitted once per penalty and scaled to each ridge's
spread on the training rows, which the diagonalised Gram gives without a product. The scores
equal `fit_model` + `raw_scores` on the same rows up to rounding (tests/routing/test_experts.py
checks it).
"""

from __future__ import annotations

import numpy as np

from orchestratex.bench.routing_features import FeatureBank, IntArray
from orchestratex.bench.routing_grouped import subject_folds
from orchestratex.engine.embeddings import FloatArray
from orchestratex.engine.semantic_model import KNN_CHUNK, RouterConfig, design
from orchestratex.engine.semantic_train import assign_folds, columns, standardisation
from orchestratex.engine.semantic_within import fit_within, scaled_within

RidgeParts = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]


def inner_folds(bank: FeatureBank, rows: IntArray, folds: int, seed: int) -> list[IntArray]:
    """Rows of each validation fold: by MMLU subject when the rows hold enough subjects (rows
    without one always train), else every row by a hash of its prompt."""
    items = [bank.items[r] for r in rows]
    subjects = {it.group for it in items if it.group}
    if len(subjects) >= folds:
        groups = subject_folds([it for it in items if it.group], folds, seed)
        fold_of = {s: f for f, g in enumerate(groups) for s in g}
        ids = [fold_of.get(it.group, -1) for it in items]
    else:
        ids = assign_folds([""] * len(items), [it.prompt for it in items], folds, seed).tolist()
    return [
        np.asarray([r for r, i in zip(rows, ids, strict=True) if i == f], dtype=np.int64)
        for f in range(folds)
    ]


class FoldWork:
    """Scores of the `test` rows by any setting fitted on the `train` rows of a bank."""

    def __init__(self, bank: FeatureBank, train: IntArray, test: IntArray) -> None:
        self.bank, self.train, self.test = bank, train, test
        mean, std = standardisation(bank.ana[train])
        self._ana_train = (bank.ana[train] - mean) / std
        self._ana_test = (bank.ana[test] - mean) / std
        self._target = bank.need[train]
        self._ridge: dict[tuple[bool, bool], RidgeParts] = {}
        self._within: dict[tuple[bool, float], tuple[FloatArray, FloatArray, FloatArray]] = {}
        self._neighbours: IntArray | None = None

    def _emb(self, rows: IntArray) -> FloatArray | None:
        return self.bank.emb_rows(rows)

    def _ridge_parts(self, embeddings: bool, numbers: bool) -> RidgeParts:
        """(eigenvalues, eigenvectors, projected right-hand side, test design, mean training
        design) of the Gram, the designs projected on the eigenvectors."""
        key = (embeddings, numbers)
        if key not in self._ridge:
            config = RouterConfig(embeddings=embeddings, numbers=numbers)
            ana_train = columns(self._ana_train, self.bank.names, config)[1]
            ana_test = columns(self._ana_test, self.bank.names, config)[1]
            x = design(self._emb(self.train) if embeddings else None, ana_train, config)
            n = len(self.train)
            values, vectors = np.linalg.eigh(x.T @ x / n)
            rhs = vectors.T @ (x.T @ (self._target - self._target.mean()) / n)
            x_test = design(self._emb(self.test) if embeddings else None, ana_test, config)
            self._ridge[key] = (values, vectors, rhs, x_test @ vectors, x.mean(axis=0) @ vectors)
        return self._ridge[key]

    def _ridge_scores(self, config: RouterConfig) -> FloatArray:
        values, _, rhs, projected, _ = self._ridge_parts(config.embeddings, config.numbers)
        out: FloatArray = projected @ (rhs / (values + config.alpha)) + self._target.mean()
        return out

    def _ridge_spread(self, config: RouterConfig) -> float:
        """Standard deviation of the ridge's scores on its training rows: the Gram's
        eigenvalues are the mean squares of the projected design."""
        values, _, rhs, _, mean = self._ridge_parts(config.embeddings, config.numbers)
        c = rhs / (values + config.alpha)
        return float(np.sqrt(max(float(values @ (c * c)) - float(mean @ c) ** 2, 0.0)))

    def _within_scores(self, config: RouterConfig) -> FloatArray:
        """The test rows' within-subject part, scaled as `fit_model` scales it."""
        key = (config.numbers, config.within_alpha)
        if key not in self._within:
            ana_train = columns(self._ana_train, self.bank.names, config)[1]
            ana_test = columns(self._ana_test, self.bank.names, config)[1]
            beta = fit_within(ana_train, self._target, self.bank.groups(self.train), key[1])
            self._within[key] = (beta, ana_train, ana_test)
        beta, ana_train, ana_test = self._within[key]
        scaled = scaled_within(beta, ana_train, config.within, self._ridge_spread(config))
        out: FloatArray = ana_test @ scaled
        return out

    def _knn_scores(self, k: int, largest: int) -> FloatArray:
        if self._neighbours is None or self._neighbours.shape[1] < min(k, len(self.train)):
            ref, emb = self._emb(self.train), self._emb(self.test)
            if ref is None or emb is None:
                raise ValueError("nearest neighbours need embeddings")
            top = max(1, min(largest, len(self.train)))
            parts = []
            for start in range(0, len(emb), KNN_CHUNK):
                sims = emb[start : start + KNN_CHUNK] @ ref.T
                part = np.argpartition(-sims, top - 1, axis=1)[:, :top]
                order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
                parts.append(np.take_along_axis(part, order, axis=1))
            self._neighbours = np.vstack(parts)
        k = max(1, min(k, len(self.train)))
        out: FloatArray = self._target[self._neighbours[:, :k]].mean(axis=1)
        return out

    def scores(self, config: RouterConfig, largest_k: int = 400) -> FloatArray:
        """Raw scores of the test rows, as `raw_scores(fit_model(...))` would give them."""
        parts: list[FloatArray] = []
        if config.uses_ridge():
            parts.append(self._ridge_scores(config))
        if config.uses_knn():
            parts.append(self._knn_scores(config.k, max(largest_k, config.k)))
        out: FloatArray = np.mean(parts, axis=0)
        if config.within:
            out = out + self._within_scores(config)
        return out
