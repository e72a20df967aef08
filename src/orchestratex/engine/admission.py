"""Admission: the one gate every upstream call of a run passes before it is sent.

Answers, revisions, escalations, fallbacks and judge calls all go through `GatedClient`, which
asks the run's `CallGate` first. The gate checks that the model is allowed, and that the call's
worst-case cost fits what the run (and, through an optional `Ledger`, the user) has left; it holds
that amount until the call ends and then releases it to the actual cost. A call that would not
fit whole is shrunk (fewer output tokens) when that is enough, else refused with
`BudgetExceededError`, before anything reaches a provider.

A call's worst case is its input plus `max_tokens` of output at the model's price, `max_tokens`
first brought within the model's own output limit (`CompletionRequest.within_output_limit`,
the rule the gateway applies before sending, given here as `output_limits`). The input
(messages, tool calls, tool definitions and the output schema) is bounded by its UTF-8 byte
count: a byte-level BPE or byte-fallback tokenizer never makes more tokens than bytes. (A third
of the bytes, used before, is exceeded 2-3x by random characters, rare CJK or emoji, so a hostile
prompt could spend past a budget.)
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from orchestratex.core.catalog import Price
from orchestratex.core.errors import (
    BudgetExceededError,
    ModelNotAllowedError,
    ProviderTimeoutError,
    was_sent,
)
from orchestratex.core.protocols import ModelClient
from orchestratex.core.types import Completion, CompletionRequest, StreamPart, TextDelta

MIN_OUTPUT_TOKENS = 16
"""A call that cannot afford this many output tokens is refused rather than cut to nothing."""
PER_MESSAGE_TOKENS = 8
PER_TOOL_TOKENS = 32
"""What a provider's template adds around one tool definition (or the output schema), at most."""
EPSILON_USD = 1e-12
_MTOK = 1_000_000


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def input_tokens_bound(request: CompletionRequest) -> int:
    """An upper bound of the call's input tokens: one per byte of everything the provider reads
    (messages, their tool calls, tool definitions, the output schema), plus markers."""
    total = PER_MESSAGE_TOKENS
    for message in request.messages:
        total += _bytes(message.content) + PER_MESSAGE_TOKENS
        total += sum(_bytes(call.model_dump_json()) for call in message.tool_calls)
        total += _bytes(message.tool_call_id or "")
    for tool in request.tools or ():
        total += _bytes(tool.model_dump_json()) + PER_TOOL_TOKENS
    output_format = request.output_format()
    if output_format is not None:
        total += _bytes(output_format.model_dump_json()) + PER_TOOL_TOKENS
    return total


def call_cost_bound(price: Price, input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / _MTOK


def affordable_output(price: Price, input_tokens: int, usd: float) -> int:
    """How many output tokens `usd` pays for after the input; may be negative."""
    left = usd - input_tokens * price.input_per_mtok / _MTOK
    if price.output_per_mtok <= 0:
        return 1 << 30 if left >= -EPSILON_USD else -1
    return math.floor(left * _MTOK / price.output_per_mtok + 1e-9)


class Ledger(Protocol):
    """Someone else's money a call also draws on (a user's budget), held per call."""

    async def hold(self, call_id: str, wanted_usd: float) -> float:
        """Hold up to `wanted_usd` for the call and return what was granted (0: nothing)."""
        ...

    async def release(self, call_id: str, cost_usd: float) -> None:
        """The call ended having cost `cost_usd`; free the rest of its hold."""
        ...


@dataclass(frozen=True, slots=True)
class Ticket:
    """An admitted call: what it holds, and the request as it may be sent."""

    call_id: str
    model: str
    held_usd: float
    ledger_held_usd: float
    request: CompletionRequest


_ids = itertools.count(1)


class CallGate:
    """The admission rules of one run: allowed models, the run's budget and a user ledger."""

    def __init__(
        self,
        prices: Mapping[str, Price | None],
        *,
        run_id: str,
        allowed: Collection[str] | None = None,
        budget_usd: float | None = None,
        ledger: Ledger | None = None,
        spent_usd: Callable[[], float] = lambda: 0.0,
        output_limits: Mapping[str, int | None] | None = None,
    ) -> None:
        self._prices = prices
        self._output_limits = output_limits or {}
        self._run_id = run_id
        self._allowed = set(allowed) if allowed else None
        self._budget = budget_usd
        self._ledger = ledger
        self._spent = spent_usd
        self._held = 0.0
        self._lock = asyncio.Lock()

    @property
    def limited(self) -> bool:
        return self._budget is not None or self._ledger is not None

    def _check_model(self, model: str) -> None:
        if self._allowed is not None and model not in self._allowed:
            raise ModelNotAllowedError(f"model {model!r} is not among the allowed models")

    def _price(self, model: str) -> Price:
        price = self._prices.get(model)
        if price is None:
            raise BudgetExceededError(
                f"model {model!r} has no known price, so a budgeted run cannot use it"
            )
        return price

    async def admit(self, model: str, request: CompletionRequest) -> Ticket:
        """Admit one call of `model` (maybe with fewer output tokens) or raise. Its
        `max_tokens` is first brought within the model's own output limit, as the gateway
        sends it, so the hold is what the call can cost."""
        self._check_model(model)
        request = request.within_output_limit(self._output_limits.get(model))
        call_id = f"{self._run_id}:{next(_ids)}"
        if not self.limited:
            return Ticket(call_id, model, 0.0, 0.0, request)
        price = self._price(model)
        tokens_in = input_tokens_bound(request)
        async with self._lock:
            wanted = call_cost_bound(price, tokens_in, request.max_tokens)
            if self._budget is not None:
                left = self._budget - self._spent() - self._held
                wanted = min(wanted, max(left, 0.0))
            granted = wanted
            if self._ledger is not None and wanted > EPSILON_USD:
                granted = min(wanted, await self._ledger.hold(call_id, wanted))
            output = affordable_output(price, tokens_in, granted)
            if output < MIN_OUTPUT_TOKENS:
                if self._ledger is not None:
                    await self._ledger.release(call_id, 0.0)
                raise BudgetExceededError(
                    f"budget exhausted: a call to {model!r} needs about "
                    f"${call_cost_bound(price, tokens_in, MIN_OUTPUT_TOKENS):.6f} and "
                    f"${max(granted, 0.0):.6f} is left"
                )
            # The hold pays for one attempt: a timed-out one may be billed, so not retried.
            request = request.model_copy(
                update={"max_tokens": min(output, request.max_tokens), "retry_timeouts": False}
            )
            held = call_cost_bound(price, tokens_in, request.max_tokens)
            self._held += held
        ledger_held = granted if self._ledger is not None else 0.0
        return Ticket(call_id, model, held, ledger_held, request)

    async def settle(self, ticket: Ticket, cost_usd: float) -> None:
        """The call ended (`cost_usd` is 0 for a failed one): release its hold."""
        if not self.limited:
            return
        async with self._lock:
            self._held = max(0.0, self._held - ticket.held_usd)
        if self._ledger is not None:
            await self._ledger.release(ticket.call_id, cost_usd)

    def cut_short_cost(self, ticket: Ticket, output_bytes: int | None) -> float:
        """What a call that ended without its usage report may have cost the provider's bill:
        its input and the output seen so far, a token a byte (`None`: the output is unknown, as
        for a whole reply stopped waiting for, so all of `max_tokens`: the whole hold). The one
        estimate both the ledger and the call's usage record count; 0 for a model without a
        price (its cost is unknown either way)."""
        price = self._prices.get(ticket.model)
        if price is None:
            return ticket.held_usd
        request = ticket.request
        tokens_out = request.max_tokens if output_bytes is None else output_bytes
        bound = call_cost_bound(
            price, input_tokens_bound(request), min(tokens_out, request.max_tokens)
        )
        return min(ticket.held_usd, bound) if self.limited else bound

    def free(self, model: str) -> bool:
        """Whether calls of `model` cost nothing whatever they read and write (price 0)."""
        price = self._prices.get(model)
        return price is not None and price.input_per_mtok == 0 and price.output_per_mtok == 0

    def affordable(self, model: str, request: CompletionRequest) -> bool:
        """Whether a call of `model` could be admitted now (without holding anything)."""
        if self._allowed is not None and model not in self._allowed:
            return False
        if self._budget is None:
            return True
        price = self._prices.get(model)
        if price is None:
            return False
        left = self._budget - self._spent() - self._held
        return affordable_output(price, input_tokens_bound(request), left) >= MIN_OUTPUT_TOKENS


_BILLED = "orchestratex_billed_usd"
_FREE = "orchestratex_billed_free"


def _note_billed(exc: BaseException, usd: float, *, free: bool) -> None:
    setattr(exc, _BILLED, usd)
    setattr(exc, _FREE, free)


def billed_is_known(exc: BaseException) -> bool:
    """Whether `billed_estimate(exc)` is exact rather than an estimate: a free model's call
    costs 0 however much of it was billed."""
    return getattr(exc, _FREE, False) is True


def billed_estimate(exc: BaseException) -> float | None:
    """What the gate counted for a call that ended in `exc` after it was sent but without its
    usage report (a cut stream, a timeout, a cancellation): the call's usage record carries
    this same figure, marked as an estimate. None: nothing was counted (nothing was billed)."""
    value = getattr(exc, _BILLED, None)
    return value if isinstance(value, float) else None


class GatedClient:
    """A `ModelClient` whose every call is admitted by `gate` first and settled after.

    A call that ends without its usage report is settled at `CallGate.cut_short_cost`, and the
    exception it ends with carries that figure (`billed_estimate`), so the engine records the
    call's usage at the same estimate the ledger counted: one figure, decided here. One whose
    exception says it never left for its provider (`was_sent`: the gateway stopped it in a
    rate-limit or `max_concurrent` queue) is settled at nothing and carries no figure.
    """

    def __init__(self, client: ModelClient, gate: CallGate) -> None:
        self._client = client
        self.gate = gate

    def _cut_short(self, exc: BaseException, ticket: Ticket, output_bytes: int | None) -> float:
        """The cost of a call that ended in `exc` without its usage report, noted on `exc`."""
        cost = self.gate.cut_short_cost(ticket, output_bytes)
        _note_billed(exc, cost, free=self.gate.free(ticket.model))
        return cost

    async def complete(self, model: str, request: CompletionRequest) -> Completion:
        ticket = await self.gate.admit(model, request)
        cost = 0.0
        try:
            completion = await self._client.complete(model, ticket.request)
            cost = completion.cost_usd
            return completion
        except (asyncio.CancelledError, ProviderTimeoutError) as exc:
            if was_sent(exc):  # maybe answered and billed after we stopped waiting: the worst
                cost = self._cut_short(exc, ticket, None)
            raise
        finally:
            await self.gate.settle(ticket, cost)

    async def stream(self, model: str, request: CompletionRequest) -> AsyncIterator[StreamPart]:
        """The stream; one that ends without its usage report (cancelled, its reader gone, cut)
        is counted at `cut_short_cost` of what it had sent, which the provider bills too."""
        ticket = await self.gate.admit(model, request)
        cost = 0.0
        finished = False
        sent_bytes = 0
        try:
            async for part in self._client.stream(model, ticket.request):
                if isinstance(part, Completion):
                    cost, finished = part.cost_usd, True
                else:
                    text = part.text if isinstance(part, TextDelta) else part.arguments
                    sent_bytes += len(text) if text.isascii() else _bytes(text)
                yield part
        except BaseException as exc:
            cut = isinstance(exc, asyncio.CancelledError | GeneratorExit | ProviderTimeoutError)
            if not finished and (sent_bytes or (cut and was_sent(exc))):
                cost = self._cut_short(exc, ticket, sent_bytes)
            raise
        finally:
            await self.gate.settle(ticket, cost)
