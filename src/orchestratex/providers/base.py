"""The contract every wire adapter meets: one provider API, no retries, no cost."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.types import CompletionRequest, RawCompletion, TextDelta, ToolCallDelta


class ProviderAdapter(Protocol):
    """Talks one wire protocol to one provider.

    Both calls raise only `core.errors.ProviderError` subclasses. `stream` yields `TextDelta`
    and `ToolCallDelta` parts and ends with exactly one `RawCompletion` holding the whole text,
    the whole tool calls and the usage.
    The SDK timeout is `request.timeout_s` when set, else the provider's `timeout_s`.
    """

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion: ...

    def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | RawCompletion]: ...

    async def aclose(self) -> None: ...


AdapterFactory = Callable[[ProviderSpec, str], ProviderAdapter]
"""Builds an adapter from the provider's spec and its API key."""


def effective_timeout(provider: ProviderSpec, request: CompletionRequest) -> float:
    return request.timeout_s if request.timeout_s is not None else provider.timeout_s


_T = TypeVar("_T")


@asynccontextmanager
async def closing_stream(parts: AsyncIterator[_T]) -> AsyncGenerator[AsyncIterator[_T], None]:
    """Close an adapter's stream on exit when it can be closed (async generators can)."""
    try:
        yield parts
    finally:
        close = getattr(parts, "aclose", None)
        if close is not None:
            await close()
