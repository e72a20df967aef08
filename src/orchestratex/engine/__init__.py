"""The pipeline: analysis, selection, generation, evaluation and improvement, as events."""

from orchestratex.engine.orchestrator import Orchestrator
from orchestratex.engine.run import Run

__all__ = ["Orchestrator", "Run"]
