"""Fixtures: a fake provider server on loopback and gateways built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.providers.breaker import BreakerSettings
from orchestratex.providers.catalog import Catalog
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import (
    FakeProviderOptions,
    FakeProviderServer,
    run_fake_provider,
)

GatewayFactory = Callable[..., Gateway]
NO_BREAKER = BreakerSettings(window=1000, min_calls=1000, failure_rate=1.0)
"""A breaker out of reach, for tests of retries and errors that must all reach the server."""


class ManualClock:
    """A clock the test moves by hand (`now`)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(text: str = "hello there", **kw: Any) -> CompletionRequest:
    return CompletionRequest(
        messages=[
            ChatMessage(role="system", content="You answer briefly."),
            ChatMessage(role="user", content=text),
        ],
        max_tokens=kw.pop("max_tokens", 200),
        **kw,
    )


def both_retries(n: int, **extra: Any) -> dict[str, Mapping[str, Any]]:
    """Provider overrides giving both fake providers `n` retries (plus `extra`)."""
    return {
        "fake-openai": {"max_retries": n, **extra},
        "fake-anthropic": {"max_retries": n, **extra},
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with run_fake_provider(FakeProviderOptions(hang_s=0.3, retry_after_s=0.2)) as server:
        yield server


@pytest.fixture
async def make_gateway(fake: FakeProviderServer) -> AsyncIterator[GatewayFactory]:
    """Builds gateways on the fake server (fast backoff) and closes them after the test."""
    made: list[Gateway] = []

    def build(catalog: Catalog | None = None, **kw: Any) -> Gateway:
        kw.setdefault("retry_base_delay_s", 0.01)
        kw.setdefault("retry_max_delay_s", 0.05)
        gateway = Gateway(catalog or fake_catalog(fake.openai_base_url), **kw)
        made.append(gateway)
        return gateway

    yield build
    for gateway in made:
        await gateway.aclose()
