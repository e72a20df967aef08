"""Fixtures shared by all test areas."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orchestratex.testing.fake_provider import FakeProviderServer, run_fake_provider


@pytest.fixture
async def fake_provider() -> AsyncIterator[FakeProviderServer]:
    """A fake provider server on a free loopback port, with default options."""
    async with run_fake_provider() as server:
        yield server
