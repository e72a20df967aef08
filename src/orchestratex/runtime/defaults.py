"""The one place a request's unset fields get the deployment's defaults and its upstream work is
checked against the deployment's caps (max_rounds, max_judges), and its named models are
checked."""

from __future__ import annotations

from typing import Any

from orchestratex.core.errors import OrchestrateXError, UnknownModelError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.providers.catalog import Catalog
from orchestratex.runtime.settings import Settings


class RequestOverLimitError(OrchestrateXError):
    """A request asks for more upstream calls than the deployment allows (a 422)."""

    code = "invalid_request"


class ConflictingModelsError(OrchestrateXError):
    """A request names a model or judge its own allowed_models exclude (a 422)."""

    code = "invalid_request"


def check_caps(request: OrchestrationRequest, settings: Settings) -> None:
    """Refuse a request whose rounds or judges per round exceed the settings' caps: a run makes
    at most rounds x (1 answer + judges) model calls, plus fallbacks."""
    if request.max_rounds > settings.max_rounds:
        raise RequestOverLimitError(
            f"max_rounds: at most {settings.max_rounds} rounds are allowed here"
        )
    judges = len(request.judges) if request.judges else request.judge_count
    if judges > settings.max_judges:
        field = "judges" if request.judges else "judge_count"
        raise RequestOverLimitError(
            f"{field}: at most {settings.max_judges} judges per round are allowed here"
        )


def with_defaults(request: OrchestrationRequest, settings: Settings) -> OrchestrationRequest:
    """`request` with the fields its sender left out filled from `settings`, within the
    settings' caps (RequestOverLimitError otherwise)."""
    given = request.model_fields_set
    changes: dict[str, Any] = {}
    if "max_rounds" not in given:
        changes["max_rounds"] = settings.default_max_rounds
    if "threshold" not in given:
        changes["threshold"] = settings.default_threshold
    if "judge_count" not in given:
        changes["judge_count"] = settings.judge_count
    filled = request.model_copy(update=changes) if changes else request
    check_caps(filled, settings)
    return filled


def check_named_models(request: OrchestrationRequest, catalog: Catalog) -> None:
    """Every model the request names must be a known, enabled catalog model, and the model and
    judges it names must be among its own `allowed_models` (a 422: the request contradicts
    itself; the call gate would refuse them anyway, after the run had started)."""
    named = [request.model] if request.model else []
    named += request.judges or []
    named += request.preferences.allowed_models or []
    for key in dict.fromkeys(named):
        spec = catalog.get(key)
        if not spec.enabled:
            raise UnknownModelError(f"model {key!r} is disabled in this deployment")
    allowed = request.preferences.allowed_models
    if allowed is None:
        return
    fields: list[tuple[str, str | None]] = [("model", request.model)]
    fields += [("judges", judge) for judge in request.judges or []]
    for field, name in fields:
        if name is not None and name not in allowed:
            raise ConflictingModelsError(f"{field}: {name!r} is not in preferences.allowed_models")
