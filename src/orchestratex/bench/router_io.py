"""Load and save a `LearnedRouter` as a JSON file (file I/O kept out of the engine)."""

from __future__ import annotations

import json
from pathlib import Path

from orchestratex.engine.router import LearnedRouter


def save(router: LearnedRouter, path: Path) -> None:
    """Write the router's weights to `path` as JSON (parent folders are created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(router.to_dict(), separators=(",", ":")), encoding="utf-8")


def load(path: Path) -> LearnedRouter:
    """Read a router saved by `save`; FileNotFoundError or ValueError when unusable."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a learned router")
    return LearnedRouter.from_dict(data)
