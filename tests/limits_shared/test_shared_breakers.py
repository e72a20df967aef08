"""Open circuits shared through Redis: a model that fails on one instance is refused on every
instance for the rest of the cooldown, including one started during it."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from orchestratex.core.errors import CircuitOpenError, ProviderUnavailableError
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.runtime.shared_breakers import BREAKER_CHANNEL, BREAKER_KEY, RedisBreakerPeers
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.limits_shared.conftest import running
from tests.providers.conftest import ask, both_retries
from tests.waiting import until

DOWN = "fake-grok"
DOWN_ID = "fake-grok-medium-down"


def _circuit(service: Service, key: str) -> str:
    return service.gateway.health()[key].circuit


async def test_a_circuit_opened_on_one_instance_is_open_on_the_others(
    tmp_path: Path, redis_url: str, redis: Redis, fake_provider: FakeProviderServer
) -> None:
    catalog = fake_catalog(
        fake_provider.openai_base_url, down=[DOWN], provider_overrides=both_retries(0)
    )

    def settings(name: str) -> Settings:
        return Settings(data_dir=tmp_path / name, redis_url=redis_url)

    async with running(settings("a"), catalog) as a, running(settings("b"), catalog) as b:
        for _ in range(10):  # the default rule: 10 calls, 85% of them failed
            assert _circuit(b, DOWN) == "closed"
            with pytest.raises(ProviderUnavailableError):
                await a.gateway.complete(DOWN, ask())
        assert _circuit(a, DOWN) == "open"
        await until(lambda: _circuit(b, DOWN) == "open", what="b heard of a's open circuit")

        with pytest.raises(CircuitOpenError):
            await b.gateway.complete(DOWN, ask())
        assert fake_provider.stats.by_model[DOWN_ID] == 10, "b refused without a request"
        health = b.gateway.health()
        assert (health[DOWN].circuit_retry_in_s or 0.0) > 20.0  # the rest of a's 30 s
        assert health["fake-gpt"].circuit == "closed"  # only the failing model
        assert (await b.gateway.complete("fake-gpt", ask())).text

        async with running(settings("c"), catalog) as c:  # started during the cooldown
            assert _circuit(c, DOWN) == "open"
        ttl_ms = await redis.pttl(BREAKER_KEY + DOWN)
        assert 20_000 < ttl_ms <= 30_000


async def test_peers_ignore_their_own_news_and_messages_that_are_not_theirs(
    redis_url: str, redis: Redis
) -> None:
    heard: list[tuple[str, float]] = []

    def on_open(name: str, remaining_s: float) -> bool:
        heard.append((name, remaining_s))
        return True

    clients = [Redis.from_url(redis_url) for _ in range(2)]
    me, peer = (RedisBreakerPeers(c) for c in clients)
    try:
        await me.follow(on_open)
        await redis.publish(BREAKER_CHANNEL, b"not json")
        await redis.publish(BREAKER_CHANNEL, b'{"from": "x", "name": 7, "remaining_s": 1}')
        await redis.publish(BREAKER_CHANNEL, b'{"from": "x", "name": "m", "remaining_s": "NaN"}')
        me.opened("mine", 30.0)  # published, but not to myself
        peer.opened("theirs", 12.5)
        await until(lambda: heard, what="the peer's message")
        assert heard == [("theirs", 12.5)]
        assert await redis.exists(BREAKER_KEY + "mine", BREAKER_KEY + "theirs") == 2
    finally:
        for peers in (me, peer):
            await peers.aclose()
        for client in clients:
            await client.aclose()
