"""Warm-up builds the adapters (and imports the SDKs) before the first call, off the event loop."""

from __future__ import annotations

import asyncio
import threading

from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer

from .conftest import ask


async def test_warm_up_builds_adapters_in_a_worker_thread(
    fake_provider: FakeProviderServer,
) -> None:
    gateway = Gateway(fake_catalog(fake_provider.openai_base_url))
    loop_thread = threading.get_ident()
    built_on: list[int] = []
    original = gateway._build_adapters

    def spy(providers):  # type: ignore[no-untyped-def]
        built_on.append(threading.get_ident())
        return original(providers)

    gateway._build_adapters = spy  # type: ignore[method-assign]
    try:
        await gateway.warm_up()
        assert built_on and built_on[0] != loop_thread
        # both wire protocols of the fake catalog are ready before any call is made
        assert set(gateway._adapters) == {"fake-openai", "fake-anthropic"}
        before = dict(gateway._adapters)
        completion = await gateway.complete("fake-claude", ask())
        assert completion.text
        assert gateway._adapters == before  # the call reused the warmed adapter
    finally:
        await gateway.aclose()


async def test_warm_up_skips_providers_without_their_key(
    fake_provider: FakeProviderServer,
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    catalog.providers["fake-anthropic"] = catalog.providers["fake-anthropic"].model_copy(
        update={"api_key_env": "ORX_TEST_UNSET_KEY"}
    )
    gateway = Gateway(catalog, env={})
    try:
        await asyncio.wait_for(gateway.warm_up(), timeout=30)
        assert set(gateway._adapters) == {"fake-openai"}
    finally:
        await gateway.aclose()
