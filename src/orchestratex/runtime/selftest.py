"""Self-test: one tiny completion per configured provider, to check keys and endpoints work.

Reports each provider's outcome (ok, latency, error code and message) and never a key: error
messages are the gateway's secret-free ones, and any configured key value is masked anyway.
`fresh_health` does the same without a running service, on a gateway of its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping

from pydantic import BaseModel

from orchestratex.core.errors import OrchestrateXError
from orchestratex.core.performance import ModelHealth
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.gateway import Gateway

PROBE_PROMPT = "Reply with the single word OK."
PROBE_MAX_TOKENS = 8
PROBE_TIMEOUT_S = 20.0


class ProviderCheck(BaseModel):
    provider: str
    model: str
    ok: bool
    latency_ms: float
    error_code: str | None = None
    error: str | None = None


def _mask(message: str, secrets: list[str]) -> str:
    for value in secrets:
        if len(value) >= 6:
            message = message.replace(value, "***")
    return message[:300]


def _probe_models(catalog: Catalog, env: Mapping[str, str] | None) -> dict[str, str]:
    """The cheapest-looking enabled model of every configured provider (small tier first)."""
    chosen: dict[str, str] = {}
    order = {"small": 0, "medium": 1, "large": 2}
    for spec in sorted(catalog.available(env), key=lambda m: (order[m.tier], m.key)):
        chosen.setdefault(spec.provider, spec.key)
    return chosen


async def _probe(
    client: ModelClient, provider: str, model: str, secrets: list[str]
) -> ProviderCheck:
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content=PROBE_PROMPT)],
        max_tokens=PROBE_MAX_TOKENS,
        timeout_s=PROBE_TIMEOUT_S,
        purpose="other",
    )
    started = time.perf_counter()
    try:
        completion = await asyncio.wait_for(client.complete(model, request), PROBE_TIMEOUT_S * 2)
    except OrchestrateXError as exc:
        latency = (time.perf_counter() - started) * 1000
        return ProviderCheck(
            provider=provider,
            model=model,
            ok=False,
            latency_ms=latency,
            error_code=exc.code,
            error=_mask(exc.message, secrets),
        )
    except TimeoutError:
        latency = (time.perf_counter() - started) * 1000
        return ProviderCheck(
            provider=provider, model=model, ok=False, latency_ms=latency, error_code="timeout"
        )
    if completion.model != model:
        return ProviderCheck(
            provider=provider,
            model=model,
            ok=False,
            latency_ms=completion.latency_ms,
            error_code="fallback",
            error=f"{model} did not answer; the gateway fell back to {completion.model}",
        )
    return ProviderCheck(provider=provider, model=model, ok=True, latency_ms=completion.latency_ms)


async def self_test(
    client: ModelClient, catalog: Catalog, env: Mapping[str, str] | None = None
) -> list[ProviderCheck]:
    """Probe every configured provider concurrently."""
    source = env if env is not None else os.environ
    secrets = [
        source[spec.api_key_env]
        for spec in catalog.providers.values()
        if spec.api_key_env and source.get(spec.api_key_env)
    ]
    models = _probe_models(catalog, env)
    checks = await asyncio.gather(
        *(_probe(client, provider, model, secrets) for provider, model in sorted(models.items()))
    )
    return list(checks)


async def fresh_health(
    catalog: Catalog, env: Mapping[str, str] | None, *, probe: bool
) -> tuple[dict[str, ModelHealth], list[ProviderCheck] | None]:
    """Each model's health on a gateway that has made no call yet (its configuration and
    circuit), and with `probe` the self-test run through that gateway."""
    gateway = Gateway(catalog, env=env)
    try:
        health = gateway.health()
        checks = await self_test(gateway, catalog, env) if probe else None
    finally:
        await gateway.aclose()
    return health, checks
