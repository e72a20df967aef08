"""The model catalog: built-in providers and models (catalog.yaml) merged with config."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from orchestratex.core.catalog import ModelSpec, Price, ProviderSpec, output_limits_of
from orchestratex.core.errors import ConfigurationError, UnknownModelError
from orchestratex.providers.pricing import resolve_price


@dataclass
class Catalog:
    """Providers by name and models by key, with their resolved prices."""

    providers: dict[str, ProviderSpec]
    models: dict[str, ModelSpec]
    prices: dict[str, Price | None] = field(default_factory=dict)

    def get(self, key: str) -> ModelSpec:
        try:
            return self.models[key]
        except KeyError:
            raise UnknownModelError(
                f"unknown model {key!r}; known models: {', '.join(sorted(self.models))}"
            ) from None

    def provider_for(self, key: str) -> ProviderSpec:
        return self.providers[self.get(key).provider]

    def price(self, key: str) -> Price | None:
        return self.prices.get(key)

    @property
    def output_limits(self) -> dict[str, int | None]:
        """Every model's own output limit by key (None: not known)."""
        return output_limits_of(self.models.values())

    def enabled(self) -> list[ModelSpec]:
        return [m for m in self.models.values() if m.enabled]

    def is_configured(self, provider: str, env: Mapping[str, str] | None = None) -> bool:
        """True when the provider needs no key, or its key variable is set and non-empty."""
        spec = self.providers[provider]
        if spec.api_key_env is None:
            return True
        return bool((env if env is not None else os.environ).get(spec.api_key_env))

    def available(self, env: Mapping[str, str] | None = None) -> list[ModelSpec]:
        """Enabled models whose provider is configured."""
        return [m for m in self.enabled() if self.is_configured(m.provider, env)]


def _builtin_data() -> dict[str, Any]:
    text = resources.files("orchestratex.providers").joinpath("catalog.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigurationError("the built-in catalog.yaml is not a mapping")
    return data


def load_catalog(
    *,
    extra_models: Sequence[ModelSpec] = (),
    provider_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    price_overrides: Mapping[str, Price] | None = None,
    disabled: Sequence[str] = (),
    include_builtin: bool = True,
) -> Catalog:
    """Build the catalog: built-ins, then config changes. Unknown references fail clearly."""
    data = _builtin_data() if include_builtin else {"providers": [], "models": []}
    providers = {p["name"]: ProviderSpec.model_validate(p) for p in data.get("providers", [])}
    for name, changes in (provider_overrides or {}).items():
        given = {k: v for k, v in changes.items() if v is not None}
        base = providers[name].model_dump() if name in providers else {"name": name}
        providers[name] = ProviderSpec.model_validate({**base, **given, "name": name})

    models = {m["key"]: ModelSpec.model_validate(m) for m in data.get("models", [])}
    for spec in extra_models:
        models[spec.key] = spec
    for key in disabled:
        if key not in models:
            raise ConfigurationError(f"disabled_models names unknown model {key!r}")
        models[key] = models[key].model_copy(update={"enabled": False})
    for spec in models.values():
        if spec.provider not in providers:
            raise ConfigurationError(
                f"model {spec.key!r} names provider {spec.provider!r}, which is not configured"
            )

    overrides = dict(price_overrides or {})
    unknown = sorted(set(overrides) - set(models))
    if unknown:
        raise ConfigurationError(f"prices given for unknown models: {', '.join(unknown)}")
    prices = {
        key: overrides.get(key) or resolve_price(spec, providers[spec.provider])
        for key, spec in models.items()
    }
    return Catalog(providers=providers, models=models, prices=prices)
