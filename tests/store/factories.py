"""Builds realistic event sequences of whole runs from core types, for the store tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, cast

from orchestratex.core.errors import CANCELLED_CALL
from orchestratex.core.events import (
    AnalysisEvent,
    CompletedEvent,
    EvaluationEvent,
    Event,
    EventBase,
    FailedEvent,
    ImprovementEvent,
    ModelCallEvent,
    ResponseChunkEvent,
    ResponseEvent,
    SelectionEvent,
    StartedEvent,
)
from orchestratex.core.orchestration import (
    Analysis,
    CandidateScore,
    JudgeVerdict,
    OrchestrationRequest,
    OrchestrationResult,
    RoundResult,
    RubricScore,
    SelectionDecision,
)
from orchestratex.core.types import Domain, TokenUsage
from orchestratex.store.db import SessionFactory
from orchestratex.store.writer import StoreWriter

Purpose = Literal["generate", "judge", "revise", "other"]

Kind = Literal["initial", "revision", "escalation"]
GEN_USAGE = TokenUsage(input_tokens=100, output_tokens=50)
JUDGE_USAGE = TokenUsage(input_tokens=300, output_tokens=80)


def _candidate(model: str, score: float) -> CandidateScore:
    return CandidateScore(
        model=model,
        expected_quality=score,
        quality_uncertainty=1.0,
        expected_cost_usd=0.002,
        expected_latency_ms=800.0,
        health=1.0,
        score=score / 10,
    )


def run_events(
    thread_id: str,
    *,
    start: datetime,
    scores: list[float],
    user_id: str | None = None,
    prompt: str = "Write a Python function that reverses a string.",
    answer_model: str = "gpt-x",
    judge: str = "claude-y",
    failing_judge: str | None = None,
    cancelled_judge: str | None = None,
    escalate_to: str | None = None,
    domain: Domain = Domain.CODING,
    threshold: float = 8.0,
    gen_cost: float = 0.002,
    judge_cost: float = 0.003,
) -> list[Event]:
    """Events of one finished run: one round per score, each judged by `judge`.

    Round 1 is also judged by `failing_judge` (a failed call) and `cancelled_judge` (a call its
    caller stopped) when given; round 2 escalates to
    `escalate_to` when given. Event i is stamped `start + i seconds`.
    """
    events: list[Event] = []

    def at(seq: int) -> datetime:
        return start + timedelta(seconds=seq)

    def seq() -> int:
        return len(events) + 1

    def call(
        number: int,
        model: str,
        purpose: Purpose,
        usage: TokenUsage,
        cost: float,
        *,
        latency_ms: float | None = None,
        error: str | None = None,
    ) -> ModelCallEvent:
        """The usage record of one model call of round `number`, as the next event (a judge
        takes 600 ms, an answer 800 ms, unless said otherwise; with `error`, it failed)."""
        return ModelCallEvent(
            thread_id=thread_id,
            seq=seq(),
            ts=at(seq()),
            round=number,
            model=model,
            provider="prov",
            purpose=purpose,
            usage=usage,
            cost_usd=cost,
            latency_ms=latency_ms or (600.0 if purpose == "judge" else 800.0),
            success=error is None,
            error=error,
        )

    request = OrchestrationRequest(prompt=prompt, threshold=threshold, max_rounds=len(scores))
    events.append(
        StartedEvent(thread_id=thread_id, seq=1, ts=at(1), request=request, user_id=user_id)
    )
    analysis = Analysis(domain=domain, complexity=0.3, domain_scores={domain: 0.9})
    events.append(AnalysisEvent(thread_id=thread_id, seq=seq(), ts=at(seq()), analysis=analysis))
    decision = SelectionDecision(
        model=answer_model,
        reasons=[f"best expected quality for {domain.value}", "within budget"],
        candidates=[_candidate(answer_model, 8.0), _candidate("other-m", 7.0)],
    )
    events.append(SelectionEvent(thread_id=thread_id, seq=seq(), ts=at(seq()), decision=decision))
    rounds: list[RoundResult] = []
    total_cost = 0.0
    usage = TokenUsage()
    model = answer_model
    for number, score in enumerate(scores, start=1):
        kind: Kind = "initial"
        if number > 1:
            escalate = escalate_to is not None and number == 2
            previous, model = model, (escalate_to if escalate and escalate_to else model)
            kind = "escalation" if escalate else "revision"
            events.append(
                ImprovementEvent(
                    thread_id=thread_id,
                    seq=seq(),
                    ts=at(seq()),
                    round=number,
                    from_model=previous,
                    to_model=model,
                    strategy="escalate" if escalate else "revise",
                    reason="below threshold",
                    previous_score=scores[number - 2],
                )
            )
        events.append(
            ResponseChunkEvent(
                thread_id=thread_id, seq=seq(), ts=at(seq()), round=number, model=model, text="ans"
            )
        )
        purpose: Purpose = "generate" if number == 1 else "revise"
        events.append(call(number, model, purpose, GEN_USAGE, gen_cost))
        answer = f"answer of round {number}"
        events.append(
            ResponseEvent(
                thread_id=thread_id,
                seq=seq(),
                ts=at(seq()),
                round=number,
                model=model,
                kind=kind,
                text=answer,
                usage=GEN_USAGE,
                cost_usd=gen_cost,
                latency_ms=800.0,
            )
        )
        events.append(call(number, judge, "judge", JUDGE_USAGE, judge_cost))
        rubric = RubricScore(
            accuracy=score,
            completeness=score,
            clarity=score,
            relevance=score,
            overall=score,
            critique=f"critique of round {number}",
            suggestions=[f"suggestion {number}a", f"suggestion {number}b"],
        )
        verdicts = [JudgeVerdict(judge=judge, score=rubric, cost_usd=judge_cost, latency_ms=600.0)]
        total_cost += gen_cost + judge_cost
        usage = usage + GEN_USAGE + JUDGE_USAGE
        if failing_judge is not None and number == 1:
            timed_out = call(
                number,
                failing_judge,
                "judge",
                TokenUsage(),
                0.0,
                latency_ms=30000.0,
                error="timeout",
            )
            events.append(timed_out)
            verdicts.append(JudgeVerdict(judge=failing_judge, error="timeout"))
        if cancelled_judge is not None and number == 1:
            stopped = call(
                number, cancelled_judge, "judge", TokenUsage(), 0.0, error=CANCELLED_CALL
            )
            events.append(stopped)
        events.append(
            EvaluationEvent(
                thread_id=thread_id,
                seq=seq(),
                ts=at(seq()),
                round=number,
                model=model,
                verdicts=verdicts,
                score=score,
            )
        )
        rounds.append(
            RoundResult(
                round=number,
                model=model,
                answer=answer,
                kind=kind,
                verdicts=verdicts,
                score=score,
                cost_usd=gen_cost + judge_cost,
            )
        )
    best = max(rounds, key=lambda r: r.score or 0.0)
    result = OrchestrationResult(
        thread_id=thread_id,
        status="completed",
        stop_reason="threshold" if (best.score or 0.0) >= threshold else "max_rounds",
        answer=best.answer,
        best_round=best.round,
        score=best.score,
        analysis=analysis,
        selection=decision,
        rounds=rounds,
        total_cost_usd=total_cost,
        usage=usage,
    )
    events.append(CompletedEvent(thread_id=thread_id, seq=seq(), ts=at(seq()), result=result))
    return events


async def feed(sessions: SessionFactory, events: list[Event]) -> None:
    """Write the events through a StoreWriter, in order."""
    writer = StoreWriter(sessions)
    for event in events:
        await writer.handle(event)


def passthrough_events(
    thread_id: str,
    *,
    start: datetime,
    user_id: str | None = None,
    model: str = "gpt-x",
    chunks: int = 2,
    failed: bool = False,
) -> list[Event]:
    """Events of a passthrough run as the engine emits them (a named model, no judge, one
    round): streamed chunks, the call, the answer, an empty evaluation and the end; `failed`:
    the call fails and the run ends failed without an answer."""
    events: list[Event] = []

    def add(cls: type[EventBase], **fields: Any) -> None:
        seq = len(events) + 1
        at = start + timedelta(seconds=seq)
        events.append(cast(Event, cls(thread_id=thread_id, seq=seq, ts=at, **fields)))

    request = OrchestrationRequest(
        prompt="Say hi.", system="Be brief.", model=model, judge_count=0, max_rounds=1
    )
    add(StartedEvent, request=request, user_id=user_id)
    analysis = Analysis(domain=Domain.GENERAL, complexity=0.1, domain_scores={Domain.GENERAL: 1})
    add(AnalysisEvent, analysis=analysis)
    decision = SelectionDecision(
        model=model, reasons=["forced by the request"], candidates=[], strategy="forced"
    )
    add(SelectionEvent, decision=decision)
    if failed:
        add(
            ModelCallEvent,
            round=1,
            model=model,
            provider="prov",
            purpose="generate",
            usage=TokenUsage(),
            cost_usd=0.0,
            latency_ms=12.0,
            success=False,
            error="boom",
        )
        result = OrchestrationResult(
            thread_id=thread_id,
            status="failed",
            stop_reason="failed",
            answer=None,
            best_round=None,
            score=None,
            analysis=analysis,
            selection=decision,
            error=f"generation with {model} failed: boom",
        )
        add(FailedEvent, error=result.error, code="provider_error", result=result)
        return events
    for i in range(chunks):
        add(ResponseChunkEvent, round=1, model=model, text=f"piece {i} ")
    text = "".join(f"piece {i} " for i in range(chunks))
    add(
        ModelCallEvent,
        round=1,
        model=model,
        provider="prov",
        purpose="generate",
        usage=GEN_USAGE,
        cost_usd=0.002,
        latency_ms=12.0,
    )
    add(
        ResponseEvent,
        round=1,
        model=model,
        kind="initial",
        text=text,
        usage=GEN_USAGE,
        cost_usd=0.002,
        latency_ms=12.0,
        finish_reason="stop",
    )
    add(EvaluationEvent, round=1, model=model, verdicts=[], score=None)
    answer = RoundResult(
        round=1,
        model=model,
        answer=text,
        kind="initial",
        cost_usd=0.002,
        usage=GEN_USAGE,
        latency_ms=12.0,
    )
    result = OrchestrationResult(
        thread_id=thread_id,
        status="completed",
        stop_reason="max_rounds",
        answer=text,
        best_round=1,
        score=None,
        analysis=analysis,
        selection=decision,
        rounds=[answer],
        total_cost_usd=0.002,
        usage=GEN_USAGE,
    )
    add(CompletedEvent, result=result)
    return events


def fallback_events(
    thread_id: str,
    *,
    start: datetime,
    first: str = "bad-m",
    then: str = "gpt-x",
    failed: bool = False,
    user_id: str | None = None,
) -> list[Event]:
    """Events of an unjudged run whose selected model `first` fails, so the engine selects
    `then` for round 1 too (a second round-1 decision); `failed`: that call fails as well and
    the run ends failed without an answer."""
    events: list[Event] = []

    def add(cls: type[EventBase], **fields: Any) -> None:
        seq = len(events) + 1
        at = start + timedelta(seconds=seq)
        events.append(cast(Event, cls(thread_id=thread_id, seq=seq, ts=at, **fields)))

    def call(model: str, ok: bool) -> None:
        add(
            ModelCallEvent,
            round=1,
            model=model,
            provider="prov",
            purpose="generate",
            usage=GEN_USAGE if ok else TokenUsage(),
            cost_usd=0.002 if ok else 0.0,
            latency_ms=12.0,
            success=ok,
            error=None if ok else "upstream 503",
        )

    request = OrchestrationRequest(prompt="Say hi.", judge_count=0, max_rounds=1)
    add(StartedEvent, request=request, user_id=user_id)
    analysis = Analysis(domain=Domain.GENERAL, complexity=0.1, domain_scores={Domain.GENERAL: 1})
    add(AnalysisEvent, analysis=analysis)
    chosen = SelectionDecision(
        model=first, reasons=["best expected quality"], candidates=[_candidate(first, 8.0)]
    )
    add(SelectionEvent, decision=chosen)
    call(first, ok=False)
    substitute = SelectionDecision(
        model=then,
        reasons=[f"fallback: {first} failed (upstream 503)"],
        candidates=[_candidate(then, 7.0)],
    )
    add(SelectionEvent, decision=substitute)
    call(then, ok=not failed)
    if failed:
        result = OrchestrationResult(
            thread_id=thread_id,
            status="failed",
            stop_reason="failed",
            answer=None,
            best_round=None,
            score=None,
            analysis=analysis,
            selection=chosen,
            error=f"generation with {then} failed: upstream 503",
        )
        add(FailedEvent, error=result.error, code="provider_error", result=result)
        return events
    add(
        ResponseEvent,
        round=1,
        model=then,
        kind="initial",
        text="hi",
        usage=GEN_USAGE,
        cost_usd=0.002,
        latency_ms=12.0,
    )
    add(EvaluationEvent, round=1, model=then, verdicts=[], score=None)
    answer = RoundResult(
        round=1, model=then, answer="hi", kind="initial", cost_usd=0.002, usage=GEN_USAGE
    )
    result = OrchestrationResult(
        thread_id=thread_id,
        status="completed",
        stop_reason="max_rounds",
        answer="hi",
        best_round=1,
        score=None,
        analysis=analysis,
        selection=chosen,
        rounds=[answer],
        total_cost_usd=0.002,
        usage=GEN_USAGE,
    )
    add(CompletedEvent, result=result)
    return events
