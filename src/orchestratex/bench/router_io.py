"""Load and save a learned router as a JSON file (file I/O kept out of the engine).

Two formats: the hashed-word `LearnedRouter` (engine/router.py) and the `SemanticRouter`
(engine/semantic_router.py). A semantic router that uses embeddings needs the `embeddings` extra
to be loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestratex.engine import router as hashed
from orchestratex.engine import semantic_router as semantic
from orchestratex.engine.embeddings import INSTALL_HINT, default_embedder
from orchestratex.engine.router import LearnedRouter
from orchestratex.engine.semantic_router import SemanticRouter

AnyRouter = LearnedRouter | SemanticRouter


def save(router: AnyRouter, path: Path) -> None:
    """Write the router to `path` as JSON (parent folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(router.to_dict(), separators=(",", ":")), encoding="utf-8")


def load(path: Path) -> AnyRouter:
    """Read a router saved by `save`; FileNotFoundError or ValueError when unusable."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a learned router")
    if data.get("format") in (semantic.FORMAT, *semantic.OLD_FORMATS):
        embedder = default_embedder()
        loaded = SemanticRouter.from_dict(data, embedder)
        if loaded.uses_embeddings and embedder is None:
            raise ValueError(
                f"{path} is a router on {loaded.embedding_model} embeddings: {INSTALL_HINT}"
            )
        return loaded
    if data.get("format") != hashed.FORMAT:
        raise ValueError(f"not a learned router (format {data.get('format')!r})")
    return LearnedRouter.from_dict(data)
