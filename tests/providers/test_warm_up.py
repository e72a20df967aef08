"""Warm-up builds the adapters (and imports the SDKs) before the first call, off the event loop."""

from __future__ import annotations

import asyncio
import threading

from orchestratex.core.catalog import ProviderSpec
from orchestratex.providers.base import AdapterFactory, ProviderAdapter
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.registry import adapter_factory
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer

from .conftest import ask


class SpyFactories:
    """The built-in adapter factories, noting which provider was built on which thread."""

    def __init__(self) -> None:
        self.built: list[tuple[str, int]] = []

    def factories(self) -> dict[str, AdapterFactory]:
        return {name: self._spy(adapter_factory(name)) for name in ("openai", "anthropic")}

    def _spy(self, factory: AdapterFactory) -> AdapterFactory:
        def build(provider: ProviderSpec, key: str) -> ProviderAdapter:
            self.built.append((provider.name, threading.get_ident()))
            return factory(provider, key)

        return build


async def test_warm_up_builds_adapters_in_a_worker_thread(
    fake_provider: FakeProviderServer,
) -> None:
    spy = SpyFactories()
    gateway = Gateway(
        fake_catalog(fake_provider.openai_base_url), adapter_factories=spy.factories()
    )
    loop_thread = threading.get_ident()
    try:
        await gateway.warm_up()
        # both wire protocols of the fake catalog are ready before any call is made
        assert sorted(name for name, _ in spy.built) == ["fake-anthropic", "fake-openai"]
        assert all(thread != loop_thread for _, thread in spy.built)
        completion = await gateway.complete("fake-claude", ask())
        assert completion.text
        assert len(spy.built) == 2  # the call reused the warmed adapter
    finally:
        await gateway.aclose()


async def test_warm_up_skips_providers_without_their_key(
    fake_provider: FakeProviderServer,
) -> None:
    catalog = fake_catalog(fake_provider.openai_base_url)
    catalog.providers["fake-anthropic"] = catalog.providers["fake-anthropic"].model_copy(
        update={"api_key_env": "ORX_TEST_UNSET_KEY"}
    )
    spy = SpyFactories()
    gateway = Gateway(catalog, env={}, adapter_factories=spy.factories())
    try:
        await asyncio.wait_for(gateway.warm_up(), timeout=30)
        assert [name for name, _ in spy.built] == ["fake-openai"]
    finally:
        await gateway.aclose()
