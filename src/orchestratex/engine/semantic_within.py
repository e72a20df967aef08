"""The within-subject part of the pooled router: what makes a prompt harder than its own group.

A pooled model on topical features learns mostly which *subjects* the strong model wins, and an
unseen subject gives it little to go on. The within-subject part is a ridge on the standardised
analysis features and the target after each group's mean (an MMLU subject; outside MMLU, a
benchmark) is subtracted from both, so it can learn only how a prompt differs from the other
prompts of its group, never which group is hard: adding a constant to one group's targets leaves
its weights unchanged.

It is added to the pooled ridge's score with a weight from the setting (`RouterConfig.within`),
after scaling it to the same spread as that score on the training rows (both z-scored, then
summed), so that one weight grid fits every penalty. Both parts are linear in the analysis
features, so the stored router keeps one vector of within weights per model, already scaled.
Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MIN_SD = 1e-12


def group_centred(values: FloatArray, groups: Sequence[str]) -> FloatArray:
    """`values` (rows, or rows x columns) less the mean of each row's group."""
    labels = np.asarray(groups)
    if len(labels) != len(values):
        raise ValueError("one group per row is needed")
    _, index = np.unique(labels, return_inverse=True)
    counts = np.bincount(index).astype(np.float64)
    flat = values.reshape(len(values), -1)
    sums = np.zeros((len(counts), flat.shape[1]), dtype=np.float64)
    np.add.at(sums, index, flat)
    out: FloatArray = (flat - (sums / counts[:, None])[index]).reshape(values.shape)
    return out


def fit_within(
    ana: FloatArray, target: FloatArray, groups: Sequence[str], alpha: float
) -> FloatArray:
    """Ridge weights (penalty `alpha`) of the group-centred target on the group-centred
    analysis rows."""
    x = group_centred(ana, groups)
    y = group_centred(target, groups)
    n = len(y)
    gram = x.T @ x / n + alpha * np.eye(x.shape[1])
    out: FloatArray = np.asarray(np.linalg.solve(gram, x.T @ y / n), np.float64)
    return out


def scaled_within(beta: FloatArray, ana: FloatArray, weight: float, base_sd: float) -> FloatArray:
    """`beta` scaled so that its score on the training rows `ana` has `weight` times the
    spread `base_sd` of the pooled score there (zeros when either spread is nil)."""
    own_sd = float((ana @ beta).std())
    if own_sd < MIN_SD or base_sd < MIN_SD:
        return np.zeros_like(beta)
    out: FloatArray = beta * (weight * base_sd / own_sd)
    return out
