"""Embeddings of benchmark prompts, cached on disk so that repeated bench runs embed once.

The cache lives outside the repository (default `$XDG_CACHE_HOME/orchestratex/embeddings`, else
`~/.cache/orchestratex/embeddings`): per embedding model, `keys.txt` (SHA-256 of each text, one a
line) and `vectors.npy` (float32 rows in the same order). Texts not yet cached are embedded and
appended; the files are replaced atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from orchestratex.engine.embeddings import BATCH_SIZE, EMBED_CHARS, Embedder, FloatArray
from orchestratex.engine.semantic_train import StopCheck


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "orchestratex" / "embeddings"


def _key(text: str) -> str:
    return hashlib.sha256(text[:EMBED_CHARS].encode("utf-8")).hexdigest()


def _folder(cache_dir: Path, embedder: Embedder) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in embedder.name)
    return cache_dir / safe


def _read(folder: Path, dim: int) -> tuple[list[str], np.ndarray]:
    keys_file, vec_file = folder / "keys.txt", folder / "vectors.npy"
    if not (keys_file.is_file() and vec_file.is_file()):
        return [], np.zeros((0, dim), dtype=np.float32)
    keys = keys_file.read_text(encoding="ascii").split()
    vectors = np.load(vec_file)
    if vectors.shape != (len(keys), dim):
        return [], np.zeros((0, dim), dtype=np.float32)
    return keys, vectors


def _write(folder: Path, keys: list[str], vectors: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tag = f".{os.getpid()}.part"
    keys_tmp, vec_tmp = folder / f"keys.txt{tag}", folder / f"vectors{tag}.npy"
    keys_tmp.write_text("\n".join(keys) + "\n", encoding="ascii")
    np.save(vec_tmp, vectors.astype(np.float32))
    vec_tmp.replace(folder / "vectors.npy")
    keys_tmp.replace(folder / "keys.txt")


def cached_embeddings(
    texts: Sequence[str],
    embedder: Embedder,
    cache_dir: Path | None = None,
    stop: StopCheck | None = None,
) -> FloatArray:
    """Embeddings of `texts` (rows in order), computing and caching only the missing ones;
    `stop` is asked before each BATCH_SIZE texts embedded (InterruptedError, nothing cached), so
    a stopping service waits for one batch (about 3 s of 1,000-character prompts on the loaded
    2-core machine), not for all the missing texts."""
    folder = _folder(cache_dir or default_cache_dir(), embedder)
    keys, vectors = _read(folder, embedder.dim)
    where = {k: i for i, k in enumerate(keys)}
    wanted = [_key(t) for t in texts]
    missing: dict[str, str] = {}
    for key, text in zip(wanted, texts, strict=True):
        if key not in where and key not in missing:
            missing[key] = text
    if missing:
        todo = list(missing.values())
        parts = []
        for start in range(0, len(todo), BATCH_SIZE):
            if stop is not None and stop():
                raise InterruptedError("training stopped")
            parts.append(embedder.embed(todo[start : start + BATCH_SIZE]).astype(np.float32))
        fresh = np.vstack(parts)
        for key in missing:
            where[key] = len(keys)
            keys.append(key)
        vectors = np.vstack([vectors, fresh])
        _write(folder, keys, vectors)
    rows = np.asarray([where[k] for k in wanted], dtype=np.int64)
    out: FloatArray = vectors[rows].astype(np.float64) if len(rows) else np.zeros((0, embedder.dim))
    return out
