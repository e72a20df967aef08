"""The orchestrator: analysis, selection, then rounds of generation and evaluation, as events."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from orchestratex.core.catalog import ModelSpec, Price, output_limits_of
from orchestratex.core.errors import OrchestrateXError
from orchestratex.core.events import (
    AnalysisEvent,
    CancelledEvent,
    CompletedEvent,
    FailedEvent,
    ImprovementEvent,
    SelectionEvent,
    StartedEvent,
)
from orchestratex.core.orchestration import (
    OrchestrationRequest,
    OrchestrationResult,
    RoundResult,
    SelectionDecision,
)
from orchestratex.core.performance import (
    HealthSource,
    JudgeRecordSource,
    ModelHealth,
    PerformanceSource,
)
from orchestratex.core.protocols import ModelClient
from orchestratex.engine.admission import CallGate, GatedClient, Ledger
from orchestratex.engine.analysis import analyze
from orchestratex.engine.cascade import CascadeSettings, needs_escalation, pending
from orchestratex.engine.emitter import Emitter, EventSink
from orchestratex.engine.evaluation import describe_error
from orchestratex.engine.generation import completion_request, initial_messages, revise_messages
from orchestratex.engine.improvement import Decision, ImprovementPolicy
from orchestratex.engine.reliability import JudgeReliability
from orchestratex.engine.rounds import Kind, RoundPlayer
from orchestratex.engine.run import Run
from orchestratex.engine.selection import Selector
from orchestratex.engine.state import RunState, Spent

log = logging.getLogger(__name__)

MAX_JUDGES = 5
"""The most judges a round has, however many a request names."""


class Orchestrator:
    """Runs orchestrations. One instance serves many runs.

    Judges are weighted by their records from `judge_records` (the store's in the service).
    Without one, `reliability` keeps the records in memory and learns from this orchestrator's
    own evaluation events, before they reach `sink`. `output_limits` (each model's own output
    limit, default those of `models`; the service gives the whole catalog's, as judges may be
    any of it) lets admission hold a call at the `max_tokens` the gateway will send.
    """

    def __init__(
        self,
        client: ModelClient,
        models: Sequence[ModelSpec],
        prices: Mapping[str, Price | None],
        *,
        performance: PerformanceSource | None = None,
        health: HealthSource | None = None,
        sink: EventSink | None = None,
        policy: ImprovementPolicy | None = None,
        reliability: JudgeReliability | None = None,
        judge_records: JudgeRecordSource | None = None,
        selector: Selector | None = None,
        cascade: CascadeSettings | None = None,
        output_limits: Mapping[str, int | None] | None = None,
    ) -> None:
        self._client = client
        self.cascade = cascade or CascadeSettings()
        self._selector = (
            selector
            if selector is not None
            else Selector(models, prices, cascade_band=self.cascade.band)
        )
        self._performance = performance
        self._health = health
        self.policy = policy or ImprovementPolicy()
        self.reliability = reliability or JudgeReliability()
        if judge_records is None:
            judge_records = self.reliability
            sink = self.reliability.learning_first(sink)
        self._sink = sink
        self._prices = prices
        if output_limits is None:
            output_limits = output_limits_of(models)
        self._output_limits = output_limits
        self._player = RoundPlayer(
            client,
            self.reliability,
            judge_records,
            self._judges,
            self._select,
            self._substitute_judge,
            self._wants_logprobs,
        )

    @property
    def selector(self) -> Selector:
        return self._selector

    def use_selector(self, selector: Selector) -> None:
        """Select with `selector` from now on (e.g. once a learned router is ready)."""
        self._selector = selector

    def start(
        self,
        request: OrchestrationRequest,
        *,
        thread_id: str | None = None,
        user_id: str | None = None,
        resume_rounds: Sequence[RoundResult] = (),
        spent_before: Spent | None = None,
        first_seq: int = 1,
        ledger: Ledger | None = None,
    ) -> Run:
        """Begin a run in a background task (needs a running event loop) and return its handle.

        Every model call of the run passes one admission gate (engine/admission.py): the
        request's allowed models and budget, and `ledger` (a user's budget) when given.
        A resumed run starts from `resume_rounds`, with what earlier attempts spent
        (`spent_before`, else the rounds' cost) counted in its total and its budget.
        """
        tid = thread_id or uuid.uuid4().hex
        emitter = Emitter(tid, first_seq=first_seq, sink=self._sink)
        holder: list[RunState] = []
        gate = CallGate(
            self._prices,
            run_id=tid,
            allowed=request.preferences.allowed_models,
            budget_usd=request.preferences.budget_usd,
            ledger=ledger,
            spent_usd=lambda: holder[0].cost if holder else 0.0,
            output_limits=self._output_limits,
        )
        state = RunState(
            request=request,
            thread_id=tid,
            user_id=user_id,
            emitter=emitter,
            client=GatedClient(self._client, gate),
            gate=gate,
        )
        holder.append(state)
        state.resume(resume_rounds, spent_before)
        task = asyncio.create_task(self._drive(state), name=f"orchestratex-run-{tid}")
        return Run(tid, emitter, task, state.request_cancel)

    async def run(
        self,
        request: OrchestrationRequest,
        *,
        thread_id: str | None = None,
        user_id: str | None = None,
        resume_rounds: Sequence[RoundResult] = (),
        spent_before: Spent | None = None,
        first_seq: int = 1,
        ledger: Ledger | None = None,
    ) -> OrchestrationResult:
        """Run to the end and return the result."""
        handle = self.start(
            request,
            thread_id=thread_id,
            user_id=user_id,
            resume_rounds=resume_rounds,
            spent_before=spent_before,
            first_seq=first_seq,
            ledger=ledger,
        )
        return await handle.result()

    async def _drive(self, st: RunState) -> OrchestrationResult:
        """Run the pipeline in its own task so `Run.cancel` can stop it; emit the terminal event."""
        try:
            try:
                await st.emitter.emit(StartedEvent, request=st.request, user_id=st.user_id)
                if st.cancel_requested:
                    raise asyncio.CancelledError
                st.work = asyncio.create_task(self._pipeline(st))
                result = await st.work
                st.finishing = True
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if me is not None and me.cancelling():
                    if st.work is not None:
                        st.work.cancel()
                    raise
                st.finishing = True
                result = st.result("cancelled", "cancelled")
                await st.emitter.emit(CancelledEvent, result=result)
                return result
            except Exception as exc:
                st.finishing = True
                code = exc.code if isinstance(exc, OrchestrateXError) else "internal_error"
                if not isinstance(exc, OrchestrateXError):
                    log.exception("run %s failed", st.thread_id)
                result = st.result("failed", "failed", error=describe_error(exc))
                await st.emitter.emit(
                    FailedEvent, error=result.error or "", code=code, result=result
                )
                return result
            if result.status == "failed":
                error = result.error or "the run failed"
                await st.emitter.emit(FailedEvent, error=error, code=st.error_code, result=result)
            else:
                await st.emitter.emit(CompletedEvent, result=result)
            return result
        finally:
            st.emitter.close()

    def _health_map(self) -> dict[str, ModelHealth] | None:
        return self._health.health() if self._health is not None else None

    async def _pipeline(self, st: RunState) -> OrchestrationResult:
        req = st.request
        st.analysis = analyze(req.prompt)
        await st.emitter.emit(AnalysisEvent, analysis=st.analysis)
        if self._performance is not None and not req.model:
            st.performance = list(await self._performance.performance())
        if req.model:
            decision = SelectionDecision(
                model=req.model, reasons=["forced by the request"], candidates=[], strategy="forced"
            )
        elif self._selector.blocking:
            decision = await asyncio.to_thread(self._select, st)
        else:
            decision = self._select(st)
        st.selection = decision
        await st.emitter.emit(SelectionEvent, decision=decision, round=len(st.rounds) + 1)
        timeout = asyncio.timeout(req.deadline_s)
        try:
            async with timeout:
                return await self._rounds(st, decision.model)
        except TimeoutError:
            if not timeout.expired():
                raise
            if st.rounds or st.pending is not None:
                return st.result("completed", "deadline")
            st.error_code = "deadline"
            return st.result("failed", "deadline", error="the deadline passed before any answer")

    def _select(self, st: RunState, exclude: Sequence[str] = ()) -> SelectionDecision:
        """The run's model; a fallback (`exclude` given) never starts a cascade."""
        assert st.analysis is not None
        req = st.request
        return self._selector.select(
            st.analysis,
            req.preferences,
            performance=st.performance,
            health=self._health_map(),
            exclude=exclude,
            prompt=req.prompt,
            cascade=not exclude and req.max_rounds >= 2 and st.judged and not req.model,
        )

    def _wants_logprobs(self, st: RunState, model: str, first: bool) -> bool:
        """Log-probabilities only for a cascade's first answer, by a model marked `logprobs`."""
        plan = st.selection.cascade if st.selection is not None else None
        spec = self._selector.spec(model)
        return plan is not None and first and model == plan.start and bool(spec and spec.logprobs)

    def _cascade_step(self, st: RunState) -> tuple[Decision | None, str | None]:
        """After a cascade's cheaper first answer: the escalation to the stronger model when
        the verdict or the answer's own confidence calls for it (else None: the policy decides),
        and a note of why not, for the policy's decision."""
        plan = st.selection.cascade if st.selection is not None else None
        if plan is None or not pending(plan, st.rounds):
            return None, None
        req = st.request
        stop = self.policy.stop_reason(req, st.rounds, spent_usd=st.cost, elapsed_s=st.elapsed_s)
        if stop is not None and stop[0] != "threshold":
            return None, None
        escalate, why = needs_escalation(st.rounds[0], req.threshold, self.cascade.min_confidence)
        if not escalate:
            return None, f"cascade: {why}: the cheaper answer stands"
        blocked = self._cannot_escalate(st, plan.escalate_to)
        if blocked is not None:
            return None, f"cascade: {why}, but {blocked}: no escalation"
        reason = f"cascade: {why}; escalating from {plan.start} to {plan.escalate_to}"
        return Decision(
            stop=None, strategy="escalate", to_model=plan.escalate_to, reason=reason
        ), None

    def _cannot_escalate(self, st: RunState, model: str) -> str | None:
        """Why a call of `model` could not be made now (unhealthy, not admitted), or None."""
        live = (self._health_map() or {}).get(model)
        if live is not None and live.score <= 0.0:
            return f"{model} is unhealthy ({live.circuit})"
        first = st.rounds[0]
        messages = revise_messages(
            st.request, first.answer, first.verdicts, first.score, escalate=True
        )
        request = completion_request(st.request, messages, "revise")
        if st.gate is not None and not st.gate.affordable(model, request):
            return f"{model} is not allowed or not affordable within the budget"
        return None

    async def _rounds(self, st: RunState, model: str) -> OrchestrationResult:
        req = st.request
        if not st.rounds and await self._player.play(
            st, 1, model, "initial", initial_messages(req)
        ):
            return st.result("failed", "failed", error=st.error)
        while True:
            last = st.rounds[-1]
            decision, note = self._cascade_step(st)
            if decision is None:
                decision = self.policy.decide(
                    req,
                    st.rounds,
                    spent_usd=st.cost,
                    elapsed_s=st.elapsed_s,
                    escalation_target=partial(self._escalation, st, last.model),
                )
                if note is not None:
                    decision = replace(decision, reason=f"{note}; {decision.reason}")
            if decision.stop is not None:
                return st.result("completed", decision.stop, detail=decision.reason)
            n = len(st.rounds) + 1
            await st.emitter.emit(
                ImprovementEvent,
                round=n,
                from_model=last.model,
                to_model=decision.to_model,
                strategy=decision.strategy,
                reason=decision.reason,
                previous_score=last.score,
            )
            base = st.best() or last
            escalate = decision.strategy == "escalate"
            messages = revise_messages(
                req, base.answer, base.verdicts, base.score, escalate=escalate
            )
            kind: Kind = "escalation" if escalate else "revision"
            if await self._player.play(st, n, decision.to_model, kind, messages):
                # The rounds so far still stand: the run ends with the best of them.
                return st.result("completed", "failed", error=f"round {n}: {st.error}")

    def _judges(self, st: RunState, answer_model: str) -> list[str]:
        """The round's judges: the named ones (de-duplicated, never the answer's own model
        while another is named) or the selector's, at most MAX_JUDGES either way."""
        req = st.request
        if not req.judges and req.judge_count == 0:
            return []
        if req.judges:
            named = list(dict.fromkeys(req.judges))
            others = [j for j in named if j != answer_model]
            return (others or named)[:MAX_JUDGES]
        assert st.analysis is not None
        return self._selector.judges(
            st.analysis,
            answer_model,
            min(req.judge_count, MAX_JUDGES),
            req.preferences,
            performance=st.performance,
            health=self._health_map(),
        )

    def _substitute_judge(self, st: RunState, taken: set[str]) -> str | None:
        """A judge for one whose call failed: eligible, not in `taken` (judges and judged model)."""
        if st.analysis is None:
            return None
        ranked = self._selector.judges(
            st.analysis,
            "",
            MAX_JUDGES + len(taken),
            st.request.preferences,
            performance=st.performance,
            health=self._health_map(),
        )
        return next((j for j in ranked if j not in taken), None)

    def _escalation(self, st: RunState, current: str) -> str | None:
        if st.request.model or st.analysis is None:
            return None
        try:
            return self._selector.escalation_target(
                current,
                st.analysis,
                st.request.preferences,
                performance=st.performance,
                health=self._health_map(),
                tried=[r.model for r in st.rounds],
            )
        except OrchestrateXError:
            return None
