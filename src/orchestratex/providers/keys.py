"""Where API keys come from: the environment variable a provider names, read once."""

from __future__ import annotations

import os
from collections.abc import Mapping

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import ConfigurationError

NO_KEY_NEEDED = "no-key-needed"
"""Sent to providers that need no key (Ollama, vLLM); the SDKs insist on some string."""


def resolve_api_key(provider: ProviderSpec, env: Mapping[str, str] | None = None) -> str:
    """The provider's key from `env` (default: the process environment).

    A provider without `api_key_env` gets a dummy key. A missing or empty variable raises
    ConfigurationError naming the variable (and never any key text).
    """
    if provider.api_key_env is None:
        return NO_KEY_NEEDED
    source = env if env is not None else os.environ
    key = source.get(provider.api_key_env, "").strip()
    if not key:
        raise ConfigurationError(
            f"provider {provider.name!r} needs an API key: "
            f"set the environment variable {provider.api_key_env}"
        )
    return key
