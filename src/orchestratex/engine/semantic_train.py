"""Fitting a `SemanticRouter`: the model, its calibration and its out-of-distribution threshold.

Training rows carry a fold id (grouped: every prompt of one topic shares a fold, so held-out
folds are unseen topics). Out-of-fold raw scores calibrate the probability (Platt), and the
similarity of each held-out prompt to its nearest prompt in the other folds sets the OOD
threshold at its OOD_QUANTILE quantile: a prompt less similar to the training data than nearly
every unseen-topic prompt was is called unknown.

With `experts` (kind -> setting, chosen elsewhere on held-out folds), each named kind gets a model
fitted on its own rows only and calibrated on its own out-of-fold scores, and a gate over every
kind of the rows (engine/semantic_kinds.py) decides which prompts it scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from orchestratex.engine.embeddings import FloatArray
from orchestratex.engine.router_features import NUMBER_FEATURES
from orchestratex.engine.semantic_kinds import Expert, fit_gate
from orchestratex.engine.semantic_model import (
    RouterConfig,
    fit_model,
    nearest_similarity,
    platt,
    raw_scores,
)
from orchestratex.engine.semantic_router import SemanticRouter

CALIBRATION_FOLDS = 4
OOD_QUANTILE = 0.01
IntArray = npt.NDArray[np.int64]
StopCheck = Callable[[], bool]


def assign_folds(groups: Sequence[str], keys: Sequence[str], folds: int, seed: int) -> IntArray:
    """Fold of each row: by a hash of its group when it has one, else of its key (prompt)."""
    out = np.empty(len(groups), dtype=np.int64)
    for i, (group, key) in enumerate(zip(groups, keys, strict=True)):
        text = f"{seed}\x1fg\x1f{group}" if group else f"{seed}\x1fk\x1f{key}"
        out[i] = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % folds
    return out


def standardisation(ana_raw: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = ana_raw.mean(axis=0)
    std = ana_raw.std(axis=0)
    return mean, np.where(std > 1e-9, std, 1.0)


def out_of_fold(
    emb: FloatArray | None,
    ana: FloatArray,
    target: FloatArray,
    fold_ids: IntArray,
    config: RouterConfig,
    stop: StopCheck | None = None,
    groups: Sequence[str] | None = None,
) -> FloatArray:
    """Raw score of every row from a model fitted on the other folds (`groups`: each row's
    group, for the within-subject part)."""
    out = np.zeros(len(target), dtype=np.float64)
    labels = None if groups is None else np.asarray(groups)
    for f in np.unique(fold_ids):
        if stop is not None and stop():
            raise InterruptedError("training stopped")
        test = fold_ids == f
        train = ~test
        if not train.any():
            continue
        sub_emb = None if emb is None else emb[train]
        sub_groups = None if labels is None else labels[train].tolist()
        model = fit_model(sub_emb, ana[train], target[train], config, sub_groups)
        out[test] = raw_scores(model, None if emb is None else emb[test], ana[test])
    return out


def fit_semantic(
    emb: FloatArray | None,
    ana_raw: FloatArray,
    names: Sequence[str],
    target: FloatArray,
    need: FloatArray,
    fold_ids: IntArray,
    config: RouterConfig,
    *,
    embedding_model: str | None,
    kinds: Sequence[str] | None = None,
    experts: Mapping[str, RouterConfig] | None = None,
    groups: Sequence[str] | None = None,
    stop: StopCheck | None = None,
) -> SemanticRouter:
    """A calibrated router fitted on all rows.

    `ana_raw` holds the analysis features `names` (columns in that order); each model reads the
    ones its setting names (`columns`). `target` is the regression target (the benchmark passes
    `need` itself), `need` the 0..1 chance the strong model is needed (what the calibrated score
    estimates). `kinds` names each row's kind (needed with `experts`), `groups` its subject or
    benchmark (needed by a setting with the within-subject part).
    """
    if len(target) == 0:
        raise ValueError("no training rows")
    own_names, pooled_raw = columns(ana_raw, names, config)
    mean, std = standardisation(pooled_raw)
    ana = (pooled_raw - mean) / std
    use_emb = emb if config.embeddings else None
    oof = out_of_fold(use_emb, ana, target, fold_ids, config, stop, groups)
    calibration = platt(oof, need)
    threshold: float | None = None
    if use_emb is not None:
        sims = np.empty(len(target), dtype=np.float64)
        for f in np.unique(fold_ids):
            test = fold_ids == f
            if (~test).any():
                sims[test] = nearest_similarity(use_emb[~test], use_emb[test])
            else:
                sims[test] = 1.0
        threshold = float(np.quantile(sims, OOD_QUANTILE))
    model = fit_model(use_emb, ana, target, config, groups)
    if use_emb is not None:
        model.ref_emb = use_emb
    gate = None
    fitted: dict[str, Expert] = {}
    if experts:
        if kinds is None or len(kinds) != len(target):
            raise ValueError("experts need the kind of every row")
        gate = fit_gate(use_emb, ana, kinds)
        for kind, setting in experts.items():
            rows = np.flatnonzero(np.asarray(kinds) == kind)
            expert_names, expert_raw = columns(ana_raw[rows], names, setting)
            fitted[kind] = fit_expert(
                kind,
                None if emb is None else emb[rows],
                expert_raw,
                target[rows],
                need[rows],
                fold_ids[rows],
                setting,
                stop,
                names=expert_names,
            )
    return SemanticRouter(
        model=model,
        names=own_names,
        mean=mean,
        std=std,
        calibration=calibration,
        prior=float(np.clip(need.mean(), 0.0, 1.0)),
        ood_threshold=threshold,
        embedding_model=embedding_model if config.embeddings else None,
        gate=gate,
        experts=fitted,
    )


def fit_expert(
    kind: str,
    emb: FloatArray | None,
    ana_raw: FloatArray,
    target: FloatArray,
    need: FloatArray,
    fold_ids: IntArray,
    config: RouterConfig,
    stop: StopCheck | None = None,
    *,
    names: Sequence[str] = (),
) -> Expert:
    """One kind's own model (analysis features `names`, standardised on its own rows, as the
    selection measured it), calibrated on its out-of-fold scores."""
    if len(target) == 0:
        raise ValueError(f"no training rows of kind {kind!r}")
    mean, std = standardisation(ana_raw)
    ana = (ana_raw - mean) / std
    use_emb = emb if config.embeddings else None
    oof = out_of_fold(use_emb, ana, target, fold_ids, config, stop)
    model = fit_model(use_emb, ana, target, config)
    if not config.uses_knn():
        model.ref_emb = model.ref_target = None
    return Expert(kind, model, mean, std, platt(oof, need), tuple(names))


def columns(
    ana_raw: FloatArray, names: Sequence[str], config: RouterConfig
) -> tuple[tuple[str, ...], FloatArray]:
    """The features `config` reads and their columns of `ana_raw` (whose columns are `names`):
    every name, less the number-and-step counts unless the setting reads them."""
    if config.numbers and not set(NUMBER_FEATURES) <= set(names):
        raise ValueError(f"{config.label} needs the number-and-step features")
    keep = [i for i, n in enumerate(names) if config.numbers or n not in NUMBER_FEATURES]
    return tuple(names[i] for i in keep), ana_raw[:, keep]
