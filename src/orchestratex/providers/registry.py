"""Wire protocol name -> adapter class, imported only when first used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import cast

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import ConfigurationError
from orchestratex.providers.base import AdapterFactory, ProviderAdapter

BUILTIN_ADAPTERS: Mapping[str, str] = {
    "openai": "orchestratex.providers.openai_compat:OpenAICompatAdapter",
    "anthropic": "orchestratex.providers.anthropic_wire:AnthropicAdapter",
    "replay": "orchestratex.providers.replay:ReplayAdapter",
}


def adapter_factory(
    protocol: str, extra: Mapping[str, AdapterFactory] | None = None
) -> AdapterFactory:
    """The factory for `protocol`: from `extra` first, else a built-in (imported lazily)."""
    if extra and protocol in extra:
        return extra[protocol]
    target = BUILTIN_ADAPTERS.get(protocol)
    if target is None:
        known = sorted({*BUILTIN_ADAPTERS, *(extra or {})})
        raise ConfigurationError(
            f"no adapter for wire protocol {protocol!r}; known: {', '.join(known)}"
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"the adapter for {protocol!r} needs a package that is not installed: {exc.name}"
        ) from None
    return cast(AdapterFactory, getattr(module, attr))


def create_adapter(
    provider: ProviderSpec, api_key: str, extra: Mapping[str, AdapterFactory] | None = None
) -> ProviderAdapter:
    return adapter_factory(provider.protocol, extra)(provider, api_key)
