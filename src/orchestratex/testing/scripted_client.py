"""A `ModelClient` that answers from a script: for tests and examples, no network, no model.

Every answer it produces is marked `[scripted test output]` so it can never pass for the words of
a real model. Scripts are keyed by model key, with `"*"` as the fallback for any other model:
a string (always that), a sequence (one per call, the last one repeating) or a callable of the
request. Judge requests (purpose "judge") are answered from `judges`: a `RubricScore` (sent as
JSON) or a raw string (to script malformed verdicts).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from orchestratex.core.errors import ProviderUnavailableError
from orchestratex.core.orchestration import RubricScore
from orchestratex.core.types import Completion, CompletionRequest, StreamPart, TextDelta, TokenUsage

MARK = "[scripted test output]"

Reply: TypeAlias = RubricScore | str
AnswerScript: TypeAlias = str | Sequence[str] | Callable[[CompletionRequest], str]
JudgeScript: TypeAlias = Reply | Sequence[Reply] | Callable[[CompletionRequest], Reply]

DEFAULT_VERDICT = RubricScore(
    accuracy=7.0,
    completeness=7.0,
    clarity=7.0,
    relevance=7.0,
    overall=7.0,
    critique=f"{MARK} a scripted critique",
    suggestions=[f"{MARK} a scripted suggestion"],
)


def verdict(overall: float, critique: str = "scripted critique") -> RubricScore:
    """A rubric score with every criterion at `overall`, marked as scripted."""
    return RubricScore(
        accuracy=overall,
        completeness=overall,
        clarity=overall,
        relevance=overall,
        overall=overall,
        critique=f"{MARK} {critique}",
        suggestions=[f"{MARK} a scripted suggestion"],
    )


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    model: str
    purpose: str
    request: CompletionRequest
    failed: bool = False


class ScriptedClient:
    """Answers from scripts, with optional per-model delays and failures."""

    def __init__(
        self,
        answers: Mapping[str, AnswerScript] | None = None,
        *,
        judges: Mapping[str, JudgeScript] | None = None,
        delays_s: Mapping[str, float] | None = None,
        failures: Mapping[str, int | None] | None = None,
        price_per_mtok: float = 1.0,
        provider: str = "scripted",
        chunk_chars: int = 24,
    ) -> None:
        """`failures[model]`: how many first calls fail (None: every call) with a 500-like error."""
        self._answers = dict(answers or {})
        self._judges = dict(judges or {})
        self._delays = dict(delays_s or {})
        self._failures = dict(failures or {})
        self._price = price_per_mtok
        self._provider = provider
        self._chunk = max(1, chunk_chars)
        self._counts: dict[tuple[str, str], int] = {}
        self.calls: list[ScriptedCall] = []

    def calls_for(self, purpose: str) -> list[ScriptedCall]:
        return [c for c in self.calls if c.purpose == purpose]

    @staticmethod
    def _nth(items: Sequence[Reply], index: int) -> Reply:
        return items[min(index, len(items) - 1)]

    def _answer(self, model: str, request: CompletionRequest, index: int) -> str:
        default = f"{MARK} answer {index + 1} from {model} ({request.purpose})"
        script = self._answers.get(model, self._answers.get("*", default))
        if callable(script):
            return script(request)
        if isinstance(script, str):
            return script
        return str(self._nth(list(script), index))

    def _verdict(self, model: str, request: CompletionRequest, index: int) -> Reply:
        script = self._judges.get(model, self._judges.get("*", DEFAULT_VERDICT))
        if callable(script):
            return script(request)
        if isinstance(script, RubricScore | str):
            return script
        return self._nth(script, index)

    def _reply(self, model: str, request: CompletionRequest) -> str:
        kind = "judge" if request.purpose == "judge" else "answer"
        index = self._counts.get((model, kind), 0)
        self._counts[(model, kind)] = index + 1
        if kind == "judge":
            picked = self._verdict(model, request, index)
            return picked.model_dump_json() if isinstance(picked, RubricScore) else picked
        text = self._answer(model, request, index)
        return text if text.startswith(MARK) else f"{MARK} {text}"

    def _check_failure(self, model: str, request: CompletionRequest) -> None:
        if model not in self._failures:
            return
        remaining = self._failures[model]
        if remaining is not None:
            if remaining <= 0:
                return
            self._failures[model] = remaining - 1
        self.calls.append(ScriptedCall(model, request.purpose, request, failed=True))
        raise ProviderUnavailableError(
            f"scripted failure of {model}", provider=self._provider, model=model, status=500
        )

    def _completion(
        self, model: str, request: CompletionRequest, text: str, ms: float
    ) -> Completion:
        usage = TokenUsage(
            input_tokens=math.ceil(sum(len(m.content) for m in request.messages) / 4),
            output_tokens=math.ceil(len(text) / 4),
        )
        return Completion(
            model=model,
            provider=self._provider,
            text=text,
            usage=usage,
            cost_usd=usage.total_tokens * self._price / 1_000_000,
            cost_known=True,
            latency_ms=ms,
        )

    async def complete(self, model: str, request: CompletionRequest) -> Completion:
        delay = self._delays.get(model, 0.0)
        if delay:
            await asyncio.sleep(delay)
        self._check_failure(model, request)
        text = self._reply(model, request)
        self.calls.append(ScriptedCall(model, request.purpose, request))
        return self._completion(model, request, text, delay * 1000.0)

    async def stream(self, model: str, request: CompletionRequest) -> AsyncIterator[StreamPart]:
        self._check_failure(model, request)
        text = self._reply(model, request)
        self.calls.append(ScriptedCall(model, request.purpose, request))
        pieces = [text[i : i + self._chunk] for i in range(0, len(text), self._chunk)] or [""]
        delay = self._delays.get(model, 0.0)
        for piece in pieces:
            if delay:
                await asyncio.sleep(delay / len(pieces))
            yield TextDelta(text=piece)
        yield self._completion(model, request, text, delay * 1000.0)
