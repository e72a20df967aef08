"""Per-user budgets: every upstream call holds its worst-case cost before it is sent.

A user with a budget has at most that much spent plus held at any moment. Each call asks for a
hold (engine/admission.py sizes it: input plus `max_tokens` of output at the model's price) and
gets what is left, up to that; when the call ends its hold is released and its real cost is added
to the user's spent total. The ledger keeps that total itself, seeded once from the usage records
in the database, so it never depends on how soon the store writes a call's usage row. Holds carry
an expiry: a hold whose process died lapses after `hold_s`.

`LocalBudgets` keeps this in the process (one lock over read-and-hold); `RedisBudgets` in Redis for
every instance (one Lua script per hold or release, on a per-user hash).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from orchestratex.core.errors import BudgetExceededError

SpentReader = Callable[[], Awaitable[float]]
BUDGET_KEY = "orx:budget:"
SPENT_KEEP_MS = 24 * 3600 * 1000
"""How long Redis keeps a user's running total without use; then it is seeded again."""
EPSILON_USD = 1e-9


def exhausted(budget_usd: float, spent_usd: float, held_usd: float) -> BudgetExceededError:
    return BudgetExceededError(
        f"budget exhausted: {budget_usd:.4f} USD allowed, {spent_usd:.4f} spent and "
        f"{held_usd:.4f} held by calls in progress"
    )


class BudgetLedger(Protocol):
    async def hold(
        self,
        user_id: str,
        hold_id: str,
        *,
        budget_usd: float,
        wanted_usd: float | None,
        spent: SpentReader,
    ) -> float:
        """Hold up to `wanted_usd` (None: all that is left) and return the amount held.
        Raises BudgetExceededError when nothing is left. `spent` reads the database; it is
        called only to seed the ledger's running total."""
        ...

    async def release(self, user_id: str, hold_id: str, *, cost_usd: float | None) -> None:
        """The holder spent `cost_usd` (None: unknown, counted as all it held)."""
        ...

    async def held_usd(self, user_id: str) -> float: ...

    async def spent_usd(self, user_id: str, spent: SpentReader) -> float: ...

    async def left_usd(self, user_id: str, budget_usd: float, spent: SpentReader) -> float:
        """What the user could still hold now."""
        ...


@dataclass
class _Account:
    spent: float
    holds: dict[str, tuple[float, float]] = field(default_factory=dict)
    """hold id -> (amount, monotonic expiry)"""

    def held(self, now: float) -> float:
        for key in [k for k, (_, until) in self.holds.items() if until <= now]:
            del self.holds[key]
        return sum(amount for amount, _ in self.holds.values())


class LocalBudgets:
    """Holds and running totals in this process's memory."""

    def __init__(self, *, hold_s: float = 3600.0, clock: Callable[[], float] = time.monotonic):
        self._lock = asyncio.Lock()
        self._accounts: dict[str, _Account] = {}
        self._hold_s = hold_s
        self._clock = clock

    async def _account(self, user_id: str, spent: SpentReader) -> _Account:
        account = self._accounts.get(user_id)
        if account is None:
            account = _Account(spent=await spent())
            self._accounts[user_id] = account
        return account

    async def hold(
        self,
        user_id: str,
        hold_id: str,
        *,
        budget_usd: float,
        wanted_usd: float | None,
        spent: SpentReader,
    ) -> float:
        async with self._lock:
            account = await self._account(user_id, spent)
            now = self._clock()
            held = account.held(now)
            left = budget_usd - account.spent - held
            if left <= EPSILON_USD:
                raise exhausted(budget_usd, account.spent, held)
            amount = left if wanted_usd is None else min(wanted_usd, left)
            account.holds[hold_id] = (amount, now + self._hold_s)
            return amount

    async def release(self, user_id: str, hold_id: str, *, cost_usd: float | None) -> None:
        async with self._lock:
            account = self._accounts.get(user_id)
            if account is None:
                return
            amount, _ = account.holds.pop(hold_id, (0.0, 0.0))
            account.spent += amount if cost_usd is None else cost_usd

    async def held_usd(self, user_id: str) -> float:
        account = self._accounts.get(user_id)
        return account.held(self._clock()) if account is not None else 0.0

    async def spent_usd(self, user_id: str, spent: SpentReader) -> float:
        async with self._lock:
            return (await self._account(user_id, spent)).spent

    async def left_usd(self, user_id: str, budget_usd: float, spent: SpentReader) -> float:
        async with self._lock:
            account = await self._account(user_id, spent)
            return budget_usd - account.spent - account.held(self._clock())


# KEYS: holds (id -> usd), hold expiries (id -> ms), spent total (a string).
# ARGV: budget, wanted ('' = all left), seed ('' = none read), id, hold ms, spent keep ms, eps.
# Returns {1, granted}, {0, held, spent} when nothing is left, or {2} when the total needs a seed.
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local spent = redis.call('GET', KEYS[3])
if not spent then
  if ARGV[3] == '' then return {2} end
  spent = ARGV[3]
  redis.call('SET', KEYS[3], spent, 'PX', tonumber(ARGV[6]))
end
for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[1], r)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do held = held + tonumber(v) end
local left = tonumber(ARGV[1]) - tonumber(spent) - held
if left <= tonumber(ARGV[7]) then return {0, tostring(held), tostring(spent)} end
local grant = left
if ARGV[2] ~= '' then grant = math.min(tonumber(ARGV[2]), left) end
redis.call('HSET', KEYS[1], ARGV[4], string.format('%.17g', grant))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]))
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
return {1, string.format('%.17g', grant)}
"""

# KEYS as above. ARGV: id, cost ('' = unknown: what it held). Adds the cost to the total.
_RELEASE = """
local cost = ARGV[2]
if cost == '' then cost = redis.call('HGET', KEYS[1], ARGV[1]) or '0' end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('INCRBYFLOAT', KEYS[3], cost)
end
return 0
"""


class RedisBudgets:
    """Holds and running totals in Redis, shared by every instance."""

    def __init__(self, client: Redis, *, hold_s: float = 3600.0) -> None:
        self._client = client
        self._hold_ms = max(1, math.ceil(hold_s * 1000))

    @staticmethod
    def _keys(user_id: str) -> tuple[str, str, str]:
        base = BUDGET_KEY + user_id
        return (base, base + ":expiry", base + ":spent")

    async def _eval_hold(
        self, user_id: str, hold_id: str, budget: float, wanted: float | None, seed: float | None
    ) -> list[bytes | int]:
        raw = self._client.eval(
            _HOLD,
            3,
            *self._keys(user_id),
            repr(budget),
            "" if wanted is None else repr(wanted),
            "" if seed is None else repr(seed),
            hold_id,
            str(self._hold_ms),
            str(SPENT_KEEP_MS),
            repr(EPSILON_USD),
        )
        result: list[bytes | int] = await raw  # type: ignore[misc]
        return result

    async def hold(
        self,
        user_id: str,
        hold_id: str,
        *,
        budget_usd: float,
        wanted_usd: float | None,
        spent: SpentReader,
    ) -> float:
        result = await self._eval_hold(user_id, hold_id, budget_usd, wanted_usd, None)
        if int(result[0]) == 2:
            result = await self._eval_hold(user_id, hold_id, budget_usd, wanted_usd, await spent())
        if int(result[0]) == 1:
            return float(result[1])
        raise exhausted(budget_usd, float(result[2]), float(result[1]))

    async def release(self, user_id: str, hold_id: str, *, cost_usd: float | None) -> None:
        cost = "" if cost_usd is None else repr(cost_usd)
        await self._client.eval(_RELEASE, 3, *self._keys(user_id), hold_id, cost)  # type: ignore[misc]

    async def held_usd(self, user_id: str) -> float:
        values = await self._client.hvals(self._keys(user_id)[0])  # type: ignore[misc]
        return sum(float(v) for v in values)

    async def spent_usd(self, user_id: str, spent: SpentReader) -> float:
        key = self._keys(user_id)[2]
        value = await self._client.get(key)
        if value is None:
            seed = await spent()
            await self._client.set(key, repr(seed), px=SPENT_KEEP_MS, nx=True)
            value = await self._client.get(key)
        return float(value or 0.0)

    async def left_usd(self, user_id: str, budget_usd: float, spent: SpentReader) -> float:
        return budget_usd - await self.spent_usd(user_id, spent) - await self.held_usd(user_id)
