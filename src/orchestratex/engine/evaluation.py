"""Evaluation: other models judge an answer concurrently; verdicts are aggregated by each
judge's weight (its reliability, engine/reliability.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from orchestratex.core.errors import (
    CANCELLED_CALL,
    BudgetExceededError,
    ModelNotAllowedError,
    OrchestrateXError,
)
from orchestratex.core.orchestration import JudgeVerdict
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import Completion, CompletionRequest, TokenUsage
from orchestratex.engine.admission import billed_estimate, billed_is_known
from orchestratex.engine.rubric import (
    JUDGE_MAX_TOKENS,
    RubricParseError,
    correction_request,
    judge_request,
    parse_rubric,
)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished model call (successful or not), as the usage record of a `ModelCallEvent`."""

    model: str
    provider: str
    usage: TokenUsage
    cost_usd: float
    cost_known: bool
    latency_ms: float
    success: bool = True
    error: str | None = None

    @classmethod
    def of(cls, completion: Completion) -> CallRecord:
        return cls(
            model=completion.model,
            provider=completion.provider,
            usage=completion.usage,
            cost_usd=completion.cost_usd,
            cost_known=completion.cost_known,
            latency_ms=completion.latency_ms,
        )

    @classmethod
    def failure(
        cls, model: str, exc: BaseException, latency_ms: float, *, output_seen: bool = False
    ) -> CallRecord:
        """A call that failed. Before it was sent, or failing before any output, it cost
        nothing. One that may have been billed without a usage report (a stream cut short, a
        timeout, a cancellation) costs what the admission gate counted for it, as an estimate
        (`cost_known` False; known 0 for a free model); after output with no such figure,
        unknown (0, not known)."""
        billed = billed_estimate(exc)
        return cls(
            model=model,
            provider=getattr(exc, "provider", "") or "",
            usage=TokenUsage(),
            cost_usd=billed or 0.0,
            cost_known=(billed is None and not output_seen) or billed_is_known(exc),
            latency_ms=latency_ms,
            success=False,
            error=describe_error(exc),
        )


CallSink = Callable[[CallRecord], Awaitable[None]]


def has_usage(exc: BaseException) -> bool:
    """Whether a call that ended in `exc` leaves a usage record: every failure of a call that
    was made does, and a cancellation does once the call was sent (it may have been billed,
    engine/admission.py). A call the gate refused (budget, allowed models) was never made."""
    if isinstance(exc, BudgetExceededError | ModelNotAllowedError):
        return False
    return isinstance(exc, Exception) or billed_estimate(exc) is not None


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description: our own errors carry a safe message, others only a type."""
    if isinstance(exc, OrchestrateXError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, asyncio.CancelledError):
        return CANCELLED_CALL
    return f"unexpected {type(exc).__name__}"


def aggregate(verdicts: Sequence[JudgeVerdict]) -> float | None:
    """Weighted mean of `overall` over the verdicts that have a score; None when none has."""
    scored = [v for v in verdicts if v.score is not None]
    if not scored:
        return None
    total_weight = sum(max(v.weight, 0.0) for v in scored)
    if total_weight <= 0.0:
        return sum(v.score.overall for v in scored if v.score) / len(scored)
    weighted = sum(max(v.weight, 0.0) * v.score.overall for v in scored if v.score)
    return round(weighted / total_weight, 4)


async def _call(
    client: ModelClient, judge: str, request: CompletionRequest, on_call: CallSink
) -> Completion:
    started = time.perf_counter()
    try:
        completion = await client.complete(judge, request)
    except (Exception, asyncio.CancelledError) as exc:
        if has_usage(exc):
            await on_call(CallRecord.failure(judge, exc, (time.perf_counter() - started) * 1000.0))
        raise
    await on_call(CallRecord.of(completion))
    return completion


async def judge_once(
    client: ModelClient,
    judge: str,
    *,
    prompt: str,
    answer: str,
    weight: float,
    on_call: CallSink,
    max_tokens: int = JUDGE_MAX_TOKENS,
) -> JudgeVerdict:
    """Ask one judge; a malformed reply gets one corrective retry. Never raises for a bad judge."""
    request = judge_request(prompt, answer, max_tokens=max_tokens)
    usage, cost, latency, problem = TokenUsage(), 0.0, 0.0, ""
    try:
        for attempt in range(2):
            if attempt:
                request = correction_request(request, problem)
            completion = await _call(client, judge, request, on_call)
            usage, cost = usage + completion.usage, cost + completion.cost_usd
            latency += completion.latency_ms
            try:
                score = parse_rubric(completion.text)
            except RubricParseError as exc:
                problem = str(exc)
                continue
            return JudgeVerdict(
                judge=judge,
                score=score,
                weight=weight,
                cost_usd=cost,
                latency_ms=latency,
                usage=usage,
            )
        error = f"malformed verdict after a retry: {problem}"
        code: str | None = "malformed_verdict"
    except Exception as exc:
        error = describe_error(exc)
        code = exc.code if isinstance(exc, OrchestrateXError) else None
    return JudgeVerdict(
        judge=judge,
        weight=weight,
        error=error,
        error_code=code,
        cost_usd=cost,
        latency_ms=latency,
        usage=usage,
    )


Substitute = Callable[[set[str]], str | None]
"""Another judge, not in the given set (the judges in use, the answer's model and those that
failed), or None."""


def _failed_call(verdict: JudgeVerdict) -> bool:
    """The judge's call itself failed (its provider or the admission gate), not its format."""
    return verdict.score is None and not (verdict.error or "").startswith("malformed verdict")


async def evaluate(
    client: ModelClient,
    judges: Sequence[str],
    *,
    prompt: str,
    answer: str,
    weight: Callable[[str], float],
    on_call: CallSink,
    max_tokens: int = JUDGE_MAX_TOKENS,
    substitute: Substitute | None = None,
    answer_model: str | None = None,
) -> tuple[list[JudgeVerdict], float | None]:
    """Run every judge concurrently; return their verdicts and the score weighted by `weight`
    (each judge's reliability).

        With `substitute`, a judge whose call failed is replaced once by another judge (never the
        model whose answer is judged); the verdict kept is the one of the judge that scored.
    """
    taken = {*judges, *([answer_model] if answer_model else [])}

    async def one(judge: str) -> JudgeVerdict:
        verdict = await judge_once(
            client,
            judge,
            prompt=prompt,
            answer=answer,
            weight=weight(judge),
            on_call=on_call,
            max_tokens=max_tokens,
        )
        if substitute is None or not _failed_call(verdict):
            return verdict
        other = substitute(taken)
        if other is None:
            return verdict
        taken.add(other)
        return await judge_once(
            client,
            other,
            prompt=prompt,
            answer=answer,
            weight=weight(other),
            on_call=on_call,
            max_tokens=max_tokens,
        )

    verdicts = list(await asyncio.gather(*(one(judge) for judge in judges)))
    return verdicts, aggregate(verdicts)
