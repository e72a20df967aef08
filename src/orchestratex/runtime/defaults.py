"""The one place a request's unset fields get the deployment's defaults."""

from __future__ import annotations

from typing import Any

from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.settings import Settings


def with_defaults(request: OrchestrationRequest, settings: Settings) -> OrchestrationRequest:
    """`request` with the fields its sender left out filled from `settings`."""
    given = request.model_fields_set
    changes: dict[str, Any] = {}
    if "max_rounds" not in given:
        changes["max_rounds"] = settings.default_max_rounds
    if "threshold" not in given:
        changes["threshold"] = settings.default_threshold
    if "judge_count" not in given:
        changes["judge_count"] = settings.judge_count
    return request.model_copy(update=changes) if changes else request
