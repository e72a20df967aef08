"""The one place a request's unset fields get the deployment's defaults, and its named models
are checked."""

from __future__ import annotations

from typing import Any

from orchestratex.core.errors import UnknownModelError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.providers.catalog import Catalog
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


def check_named_models(request: OrchestrationRequest, catalog: Catalog) -> None:
    """Every model the request names must be a known, enabled catalog model."""
    named = [request.model] if request.model else []
    named += request.judges or []
    named += request.preferences.allowed_models or []
    for key in dict.fromkeys(named):
        spec = catalog.get(key)
        if not spec.enabled:
            raise UnknownModelError(f"model {key!r} is disabled in this deployment")
