"""Features of every benchmark prompt, computed once per bench run (embeddings from the cache).

`FeatureBank` holds, per routing item, its embedding row (when the embeddings extra is installed)
and its raw analysis features (`bank_features`), plus the training
target: the chance the strong model is needed (`RoutingItem.target`: 1 when only the strong
model is right; MT-Bench's judge-point margin over MT_BENCH_TARGET_SPAN, clipped to 0..1). The
router regresses on it and calibrates to it. The signed strong-minus-weak gain was the
regression target before: on inner grouped folds of the seed-0 training half it scored 0.550
against 0.560 for this one (docs/benchmarks.md, Routing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from orchestratex.bench.routing_data import RoutingItem
from orchestratex.bench.routing_embed_cache import cached_embeddings
from orchestratex.engine.embeddings import Embedder, FloatArray
from orchestratex.engine.router_features import (
    NUMBER_FEATURES,
    SEMANTIC_FEATURES,
    analysis_matrix,
)
from orchestratex.engine.semantic_train import StopCheck

IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class FeatureBank:
    items: list[RoutingItem]
    emb: FloatArray | None
    ana: FloatArray
    names: list[str]
    embedding_model: str | None
    need: FloatArray

    def index(self, items: Sequence[RoutingItem]) -> IntArray:
        """Row of each item (items must come from this bank; identical items share a row)."""
        where = {id(it): i for i, it in enumerate(self.items)}
        return np.asarray([where[id(it)] for it in items], dtype=np.int64)

    def groups(self, rows: IntArray) -> list[str]:
        """The group of each row for the within-subject part: its MMLU subject, else its
        benchmark."""
        return [self.items[r].group or self.items[r].benchmark for r in rows]

    def emb_rows(self, rows: IntArray) -> FloatArray | None:
        return None if self.emb is None else self.emb[rows]

    def ana_rows(self, rows: IntArray, names: Sequence[str]) -> FloatArray:
        """Raw analysis features `names` (in that order) of the rows."""
        cols = np.asarray([self.names.index(n) for n in names], dtype=np.int64)
        out: FloatArray = self.ana[np.ix_(rows, cols)]
        return out


STOP_EVERY = 256


def bank_features() -> tuple[str, ...]:
    """Every feature a setting may read: the semantic router's list (with the rarity figures,
    with embeddings or without), then the number-and-step counts that a kind's expert may read
    (engine/router_features.py)."""
    return SEMANTIC_FEATURES + NUMBER_FEATURES


def build_bank(
    items: Sequence[RoutingItem],
    embedder: Embedder | None,
    cache_dir: Path | None,
    stop: StopCheck | None = None,
) -> FeatureBank:
    """Features of `items`; `stop` is asked every STOP_EVERY prompts (InterruptedError)."""
    prompts = [it.prompt for it in items]
    names = list(bank_features())
    blocks = []
    for start in range(0, len(prompts), STOP_EVERY):
        if stop is not None and stop():
            raise InterruptedError("training stopped")
        blocks.append(analysis_matrix(prompts[start : start + STOP_EVERY], names)[1])
    ana = np.vstack(blocks) if blocks else np.zeros((0, len(names)), dtype=np.float64)
    emb = None
    if embedder is not None:
        chunks = []
        for start in range(0, len(prompts), STOP_EVERY):
            if stop is not None and stop():
                raise InterruptedError("training stopped")
            chunks.append(
                cached_embeddings(prompts[start : start + STOP_EVERY], embedder, cache_dir, stop)
            )
        emb = np.vstack(chunks) if chunks else np.zeros((0, embedder.dim))
    return FeatureBank(
        items=list(items),
        emb=emb,
        ana=ana,
        names=names,
        embedding_model=None if embedder is None else embedder.name,
        need=np.asarray([it.target for it in items], dtype=np.float64),
    )
