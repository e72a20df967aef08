"""One round: generate (with fallback models), then have the judges evaluate the answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from orchestratex.core.errors import OrchestrateXError, ProviderError
from orchestratex.core.events import (
    EvaluationEvent,
    ModelCallEvent,
    ResponseChunkEvent,
    ResponseEvent,
    SelectionEvent,
)
from orchestratex.core.orchestration import JudgeVerdict, RoundResult, SelectionDecision
from orchestratex.core.performance import JudgeRecordSource
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import ChatMessage, Completion
from orchestratex.engine.evaluation import CallRecord, describe_error, evaluate, has_usage
from orchestratex.engine.generation import completion_request, generate
from orchestratex.engine.reliability import JudgeReliability
from orchestratex.engine.state import RunState

log = logging.getLogger(__name__)
Kind = Literal["initial", "revision", "escalation"]

GENERATION_MODELS = 2
"""Models a round may try for its answer: the chosen one and one fallback."""
MAX_GENERATION_MODELS = 4
"""The cap when streams broke after their first chunk: the gateway cannot retry such a failure
(its chunks are already out), so each one grants the round one more model, up to this many."""


@dataclass
class RoundPlayer:
    """Plays rounds for the orchestrator, emitting their events through the run's emitter."""

    client: ModelClient
    reliability: JudgeReliability
    """How a judge's record becomes its weight."""
    judge_records: JudgeRecordSource
    """The judges' records (read once per evaluation)."""
    judges: Callable[[RunState, str], list[str]]
    """The judges for an answer by the given model."""
    reselect: Callable[[RunState, Sequence[str]], SelectionDecision]
    """Another model when generation failed, excluding those tried."""
    substitute: Callable[[RunState, set[str]], str | None]
    """Another judge when one failed, not among the given models."""
    logprobs: Callable[[RunState, str, bool], bool] = lambda st, model, first: False
    """Whether to ask `model` for token log-probabilities (True: the run's first answer)."""

    async def play(
        self, st: RunState, n: int, model: str, kind: Kind, messages: list[ChatMessage]
    ) -> bool:
        """Produce and judge round `n`; True when generation failed on every model tried."""
        started = time.perf_counter()
        completion = await self._generate_with_fallback(st, n, model, kind, messages)
        if completion is None:
            return True
        await st.emitter.emit(
            ResponseEvent,
            round=n,
            model=completion.model,
            kind=kind,
            text=completion.text,
            usage=completion.usage,
            cost_usd=completion.cost_usd,
            latency_ms=completion.latency_ms,
            finish_reason=completion.finish_reason,
            tool_calls=completion.tool_calls,
            confidence=completion.confidence,
        )
        st.pending = RoundResult(
            round=n,
            model=completion.model,
            answer=completion.text,
            kind=kind,
            cost_usd=completion.cost_usd,
            usage=completion.usage,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            confidence=completion.confidence,
            tool_calls=list(completion.tool_calls),
        )
        judges = self.judges(st, completion.model)
        verdicts: list[JudgeVerdict] = []
        score: float | None = None
        if judges:
            weight = self.reliability.weigher(await self.judge_records.judge_records())
            verdicts, score = await evaluate(
                st.client,
                judges,
                prompt=st.request.prompt,
                answer=completion.text,
                weight=weight,
                on_call=partial(self._on_call, st, n, "judge"),
                substitute=None if st.request.judges else partial(self.substitute, st),
                answer_model=completion.model,
            )
        await st.emitter.emit(
            EvaluationEvent, round=n, model=completion.model, verdicts=verdicts, score=score
        )
        st.rounds.append(
            st.pending.model_copy(
                update={
                    "verdicts": verdicts,
                    "score": score,
                    "cost_usd": completion.cost_usd + sum(v.cost_usd for v in verdicts),
                    "usage": sum((v.usage for v in verdicts), completion.usage),
                    "latency_ms": (time.perf_counter() - started) * 1000.0,
                }
            )
        )
        st.pending = None
        return False

    async def _generate_with_fallback(
        self, st: RunState, n: int, model: str, kind: Kind, messages: list[ChatMessage]
    ) -> Completion | None:
        """Generate with `model`; on failure try another model (one more for each stream that
        broke after its first chunk); None when every model tried failed."""
        purpose: Literal["generate", "revise"] = "generate" if kind == "initial" else "revise"
        request = completion_request(st.request, messages, purpose)
        tried: list[str] = []
        limit = GENERATION_MODELS
        while True:
            tried.append(model)
            started = time.perf_counter()
            chunks: list[str] = []
            wants = self.logprobs(st, model, kind == "initial" and n == 1)
            try:
                completion = await generate(
                    st.client,
                    model,
                    request.model_copy(update={"logprobs": True}) if wants else request,
                    partial(self._on_delta, st, n, model, chunks),
                    stream=st.request.stream_answers,
                )
            except (Exception, asyncio.CancelledError) as exc:
                if has_usage(exc):  # a cancelled call too, once it may have been billed
                    elapsed = (time.perf_counter() - started) * 1000.0
                    failed = CallRecord.failure(model, exc, elapsed, output_seen=bool(chunks))
                    await self._on_call(st, n, purpose, failed)
                if not isinstance(exc, Exception):
                    raise
                st.error = f"generation with {model} failed: {describe_error(exc)}"
                st.error_code = exc.code if isinstance(exc, OrchestrateXError) else "provider_error"
                if chunks and isinstance(exc, ProviderError) and exc.retryable:
                    limit = min(limit + 1, MAX_GENERATION_MODELS)
                if len(tried) >= limit or st.request.model:
                    return None
                try:
                    alternative = self.reselect(st, tried)
                except OrchestrateXError:
                    return None
                alternative.reasons.insert(0, f"fallback: {model} failed ({describe_error(exc)})")
                await st.emitter.emit(SelectionEvent, decision=alternative, round=n)
                model = alternative.model
                continue
            await self._on_call(st, n, purpose, CallRecord.of(completion))
            return completion

    async def _on_delta(
        self, st: RunState, n: int, model: str, chunks: list[str], text: str
    ) -> None:
        chunks.append(text)
        await st.emitter.emit(ResponseChunkEvent, round=n, model=model, text=text)

    async def _on_call(
        self,
        st: RunState,
        n: int,
        purpose: Literal["generate", "judge", "revise"],
        call: CallRecord,
    ) -> None:
        st.add_call(call, purpose, n)
        await st.emitter.emit(
            ModelCallEvent,
            round=n,
            model=call.model,
            provider=call.provider,
            purpose=purpose,
            usage=call.usage,
            cost_usd=call.cost_usd,
            cost_known=call.cost_known,
            latency_ms=call.latency_ms,
            success=call.success,
            error=call.error,
        )
