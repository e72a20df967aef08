"""Whether an answer satisfies the response format asked for, and the best round that does.

Blocking (a schema check may take up to `schema_check.CHECK_S`): call from a worker thread.
"""

from __future__ import annotations

import json

from orchestratex.api.schema_check import answer_problem
from orchestratex.core.orchestration import OrchestrationResult, RoundResult
from orchestratex.core.types import ResponseFormat


def format_problem(fmt: ResponseFormat, text: str) -> str | None:
    """Why `text` does not satisfy `fmt`, or None when it does."""
    if fmt.type == "text":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return "the answer is not JSON"
    if fmt.type == "json_object":
        return None if isinstance(value, dict) else "the answer is not a JSON object"
    assert fmt.json_schema is not None
    return answer_problem(fmt.json_schema, value)


def best_conforming(result: OrchestrationResult, fmt: ResponseFormat) -> RoundResult | None:
    """The best round whose answer satisfies `fmt`: the run's best round when it does, else
    the highest-scored round that does; None when no round does."""
    rounds = [r for r in result.rounds if format_problem(fmt, r.answer) is None]
    best = next((r for r in rounds if r.round == result.best_round), None)
    if best is not None:
        return best
    rounds.sort(key=lambda r: (r.score is not None, r.score or 0.0, -r.round), reverse=True)
    return rounds[0] if rounds else None
