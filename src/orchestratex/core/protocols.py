"""The one seam between the engine and the models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from orchestratex.core.types import Completion, CompletionRequest, StreamPart


@runtime_checkable
class ModelClient(Protocol):
    """Calls a model of the catalog by its key.

    `complete` returns the finished answer. `stream` yields `TextDelta` parts and ends with one
    `Completion` whose text is the whole answer. Both raise `ProviderError` subclasses.
    """

    async def complete(self, model: str, request: CompletionRequest) -> Completion: ...

    def stream(self, model: str, request: CompletionRequest) -> AsyncIterator[StreamPart]: ...
