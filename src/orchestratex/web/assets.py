"""Where the web assets live, and their content hashes (for cache-forever URLs)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"


@lru_cache(maxsize=64)
def _hash(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_version(path: Path) -> str:
    """A short content hash of the file (recomputed only when it changes)."""
    stat = path.stat()
    return _hash(path, stat.st_mtime_ns, stat.st_size)
