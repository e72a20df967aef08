"""The model catalog from Settings: built-ins plus the config's providers, models and prices, or
replay mode's models. `Catalog`, `refused_options` (the options a wire protocol cannot carry)
and `refuses_any` are re-exported for the surfaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import ConfigurationError
from orchestratex.core.invalid import describe_all
from orchestratex.providers.capabilities import refused_options, refuses_any
from orchestratex.providers.catalog import Catalog, load_catalog
from orchestratex.providers.replay_catalog import replay_catalog
from orchestratex.runtime.replay_mode import Mode, resolve_mode
from orchestratex.runtime.settings import Settings

__all__ = [
    "Catalog",
    "catalog_from_settings",
    "describe_validation_error",
    "mode_and_catalog",
    "refused_options",
    "refuses_any",
    "replay_catalog",
]


def describe_validation_error(exc: ValidationError) -> str:
    """Field locations and reasons only: the values themselves are not echoed back (a check of
    the whole model has no location, and its own message needs no "Value error, " label)."""
    return describe_all(exc.errors(include_input=False, include_url=False), limit=50)


def _provider_changes(settings: Settings) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for name, override in settings.providers.items():
        given = override.model_dump(exclude_none=True)
        try:
            ProviderSpec.model_validate({**given, "name": name})
        except ValidationError as exc:
            raise ConfigurationError(
                f"invalid configuration for provider {name!r}: {describe_validation_error(exc)}"
            ) from None
        changes[name] = given
    return changes


def _check_custom_endpoints(catalog: Catalog, settings: Settings) -> None:
    """An OpenAI-compatible provider other than `openai` must name its endpoint.

    Without a base_url the SDK would send that provider's key to api.openai.com.
    """
    for name in settings.providers:
        spec = catalog.providers[name]
        if spec.protocol == "openai" and spec.base_url is None and name != "openai":
            raise ConfigurationError(
                f"provider {name!r} uses the openai protocol but has no base_url; "
                f"set providers.{name}.base_url (e.g. http://127.0.0.1:11434/v1 for Ollama)"
            )


def catalog_from_settings(settings: Settings) -> Catalog:
    """The built-in catalog changed by `settings`; bad references raise ConfigurationError."""
    catalog = load_catalog(
        extra_models=settings.models,
        provider_overrides=_provider_changes(settings),
        price_overrides=settings.prices,
        disabled=settings.disabled_models,
    )
    _check_custom_endpoints(catalog, settings)
    return catalog


def mode_and_catalog(
    settings: Settings, env: Mapping[str, str] | None, *, catalog: Catalog | None = None
) -> tuple[Mode, Catalog]:
    """The mode the service runs in and its catalog: `catalog` when given, replay mode's
    models in replay mode, else the built-ins changed by `settings`."""
    mode = resolve_mode(settings, env, catalog_given=catalog is not None)
    if catalog is None:
        catalog = replay_catalog() if mode == "replay" else catalog_from_settings(settings)
    return mode, catalog
