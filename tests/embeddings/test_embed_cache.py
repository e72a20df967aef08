"""The benchmark's embedding cache asks `stop` between batches, and caches nothing when stopped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from orchestratex.bench.routing_embed_cache import cached_embeddings
from orchestratex.engine.embeddings import BATCH_SIZE, FloatArray


class Counting:
    """A stand-in embedder: a text's vector is its length on one axis; counts its calls."""

    name = "counting"
    dim = 2

    def __init__(self) -> None:
        self.batches: list[int] = []

    def embed(self, texts: Sequence[str]) -> FloatArray:
        self.batches.append(len(texts))
        return np.asarray([[len(t), 1.0] for t in texts], dtype=np.float64)


def test_embeds_in_batches_and_stops_between_them(tmp_path: Path) -> None:
    texts = [f"prompt {i}" for i in range(2 * BATCH_SIZE + 1)]
    embedder = Counting()
    with pytest.raises(InterruptedError):
        cached_embeddings(texts, embedder, tmp_path, stop=lambda: bool(embedder.batches))
    assert embedder.batches == [BATCH_SIZE]
    assert not any(tmp_path.rglob("vectors.npy"))

    rows = cached_embeddings(texts, embedder, tmp_path, stop=lambda: False)
    assert embedder.batches[1:] == [BATCH_SIZE, BATCH_SIZE, 1]
    assert rows[:, 0].tolist() == [float(len(t)) for t in texts]
    again = cached_embeddings(texts[::-1], embedder, tmp_path, stop=lambda: True)
    assert len(embedder.batches) == 4 and again[:, 0].tolist() == rows[::-1, 0].tolist()
