"""SDK clients pointed at the fake provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import openai
import pytest

from orchestratex.testing.fake_provider import FakeProviderServer


@pytest.fixture
async def openai_client(fake_provider: FakeProviderServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake_provider.openai_base_url, api_key="test", max_retries=0, timeout=10
    ) as client:
        yield client


@pytest.fixture
async def anthropic_client(
    fake_provider: FakeProviderServer,
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=fake_provider.anthropic_base_url, api_key="test", max_retries=0, timeout=10
    ) as client:
        yield client
