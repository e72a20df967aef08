"""Quotas: how many requests a user may send, and what their budget lets each call spend.

Two decisions live here and nowhere else: the per-user request rates (orchestrations, and
single-model passthroughs under their own optional limit; in this process, or shared through
Redis), and the user's side of call admission — a `Ledger` per run that holds each call's
worst-case cost on the user's budget (runtime/budgets.py) — plus the up-front refusal of a request
that cannot afford even one short answer from any model it may use (nothing is stored then).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import BudgetExceededError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.core.types import ChatMessage, CompletionRequest
from orchestratex.engine.admission import (
    MIN_OUTPUT_TOKENS,
    Ledger,
    call_cost_bound,
    input_tokens_bound,
)
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.budgets import BudgetLedger, LocalBudgets, RedisBudgets, SpentReader
from orchestratex.runtime.ratelimit import RateLimiter, rate_limited
from orchestratex.runtime.scaleout import RedisLinks, RedisRateLimiter
from orchestratex.store.facade import Store


class UserLedger:
    """One user's budget as the engine's admission gate sees it (engine/admission.Ledger)."""

    def __init__(
        self, budgets: BudgetLedger, user_id: str, budget_usd: float, spent: SpentReader
    ) -> None:
        self._budgets = budgets
        self._user_id = user_id
        self._budget = budget_usd
        self._spent = spent

    async def hold(self, call_id: str, wanted_usd: float) -> float:
        try:
            return await self._budgets.hold(
                self._user_id,
                call_id,
                budget_usd=self._budget,
                wanted_usd=wanted_usd,
                spent=self._spent,
            )
        except BudgetExceededError:
            return 0.0

    async def release(self, call_id: str, cost_usd: float) -> None:
        await self._budgets.release(self._user_id, call_id, cost_usd=cost_usd)


def _probe(request: OrchestrationRequest) -> CompletionRequest:
    messages = [ChatMessage(role="user", content=request.prompt)]
    if request.system:
        messages.insert(0, ChatMessage(role="system", content=request.system))
    return CompletionRequest(messages=messages, max_tokens=MIN_OUTPUT_TOKENS)


class _UserRate:
    """One per-user request limit, in this process or shared through Redis."""

    def __init__(self, links: RedisLinks | None, limit: int, prefix: str) -> None:
        self._prefix = prefix
        self._limiter: RateLimiter | RedisRateLimiter = (
            RateLimiter(limit) if links is None else RedisRateLimiter(links.client, limit)
        )

    async def hit(self, user: Principal) -> None:
        key, limiter = self._prefix + user.rate_key, self._limiter
        if isinstance(limiter, RateLimiter):
            limiter.hit(key)
            return
        wait = await limiter.hit(key, uuid.uuid4().hex)
        if wait is not None:
            raise rate_limited(limiter.limit, limiter.window_s, wait)


class Quotas:
    def __init__(
        self,
        store: Store,
        links: RedisLinks | None,
        *,
        requests_per_minute: int,
        hold_s: float,
        passthrough_per_minute: int | None = None,
    ) -> None:
        self._store = store
        self._links = links
        self.set_limits(requests_per_minute, passthrough_per_minute)
        self.budgets: BudgetLedger = (
            RedisBudgets(links.client, hold_s=hold_s)
            if links is not None
            else LocalBudgets(hold_s=hold_s)
        )

    def set_limits(self, requests_per_minute: int, passthrough_per_minute: int | None) -> None:
        """Start counting against these per-user limits (counts so far are dropped)."""
        self._requests = _UserRate(self._links, requests_per_minute, "")
        self._passthroughs = (
            _UserRate(self._links, passthrough_per_minute, "passthrough:")
            if passthrough_per_minute is not None
            else None
        )

    async def count_request(self, user: Principal, *, passthrough: bool = False) -> None:
        """Count one request of `user`; RequestRateLimitedError when their window is full.
        A passthrough (one named-model call) counts only against the passthrough limit, and is
        not limited here when there is none (its provider's own limits pace it)."""
        rate = self._passthroughs if passthrough else self._requests
        if rate is not None:
            await rate.hit(user)

    def _spent(self, user_id: str) -> SpentReader:
        async def read() -> float:
            return await self._store.user_spent(user_id)

        return read

    def ledger(self, user: Principal) -> Ledger | None:
        """The user's budget for the admission gate of their runs (None: no budget)."""
        if user.user_id is None or user.budget_usd is None:
            return None
        return UserLedger(self.budgets, user.user_id, user.budget_usd, self._spent(user.user_id))

    async def spent_usd(self, user_id: str) -> float:
        return await self.budgets.spent_usd(user_id, self._spent(user_id))

    async def left_usd(self, user: Principal) -> float | None:
        if user.user_id is None or user.budget_usd is None:
            return None
        return await self.budgets.left_usd(user.user_id, user.budget_usd, self._spent(user.user_id))

    async def check_affordable(
        self,
        request: OrchestrationRequest,
        user: Principal,
        models: Sequence[ModelSpec],
        prices: Mapping[str, Price | None],
    ) -> None:
        """Refuse (BudgetExceededError) a request none of whose usable models can give even a
        short answer within what the run and the user have left."""
        user_left = await self.left_usd(user)
        run_budget = request.preferences.budget_usd
        if user_left is None and run_budget is None:
            return
        left = min(x for x in (user_left, run_budget) if x is not None)
        allowed = set(request.preferences.allowed_models or [])
        keys = [request.model] if request.model else [m.key for m in models]
        keys = [k for k in keys if not allowed or k in allowed]
        probe = _probe(request)
        tokens_in = input_tokens_bound(probe)
        costs = [
            call_cost_bound(price, tokens_in, MIN_OUTPUT_TOKENS)
            for key in keys
            if (price := prices.get(key)) is not None
        ]
        cheapest = min(costs, default=None)
        if cheapest is not None and cheapest <= left:
            return
        what = (
            "no model it may use has a known price"
            if cheapest is None
            else (f"the cheapest model it may use needs about ${cheapest:.6f} for a short answer")
        )
        held = await self.budgets.held_usd(user.user_id) if user.user_id else 0.0
        raise BudgetExceededError(
            f"budget exhausted: ${max(left, 0.0):.6f} left ({held:.6f} held by calls in "
            f"progress) and {what}"
        )
