"""Per-user budgets that hold under concurrent submissions: a run holds its maximum cost.

At submit, a run of a user with a budget holds the most it may spend (its capped
`preferences.budget_usd`): granted only while spent + held + this <= the user's budget, checked
atomically. When the run ends its hold is released; by then its real cost is in the usage
records, so what it did not spend is free again. `LocalBudgets` does this in one process (a
lock over read-and-hold); `RedisBudgets` across instances (a Lua script over a per-user hash).

Across instances the spent total is read from the database just before the script runs, so a
run released in between might be in neither. A release therefore leaves a note of its real
cost for a minute, and a check counts the notes written after its read began (their cost
may be counted twice for that moment, never missed).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis

from orchestratex.core.errors import BudgetExceededError

SpentReader = Callable[[], Awaitable[float]]
BUDGET_KEY = "orx:budget:"
NOTE_KEEP_MS = 60_000
EPSILON_USD = 1e-9


def exhausted(budget_usd: float, spent_usd: float, held_usd: float) -> BudgetExceededError:
    return BudgetExceededError(
        f"budget exhausted: {budget_usd:.4f} USD allowed, {spent_usd:.4f} spent and "
        f"{held_usd:.4f} held by runs in progress; nothing left for another run"
    )


def _grant(budget_usd: float, wanted_usd: float | None, spent: float, held: float) -> float:
    left = budget_usd - spent - held
    if left <= EPSILON_USD:
        raise exhausted(budget_usd, spent, held)
    return left if wanted_usd is None else min(wanted_usd, left)


class BudgetLedger(Protocol):
    async def hold(
        self,
        user_id: str,
        run_id: str,
        *,
        budget_usd: float,
        wanted_usd: float | None,
        spent: SpentReader,
    ) -> float:
        """Hold the run's maximum and return it: `wanted_usd` (None: all that is left) capped
        at budget - spent - held. Raises BudgetExceededError when nothing is left."""
        ...

    async def release(self, user_id: str, run_id: str, *, cost_usd: float | None) -> None:
        """The run ended having spent `cost_usd` (already in the usage records; None: unknown,
        counted as all it held)."""
        ...

    async def held_usd(self, user_id: str) -> float:
        """What the user's runs in progress hold now."""
        ...


class LocalBudgets:
    """Holds in this process's memory; reading spent and holding happen under one lock."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holds: dict[str, dict[str, float]] = {}

    async def hold(
        self,
        user_id: str,
        run_id: str,
        *,
        budget_usd: float,
        wanted_usd: float | None,
        spent: SpentReader,
    ) -> float:
        async with self._lock:
            holds = self._holds.setdefault(user_id, {})
            amount = _grant(budget_usd, wanted_usd, await spent(), sum(holds.values()))
            holds[run_id] = amount
            return amount

    async def release(self, user_id: str, run_id: str, *, cost_usd: float | None) -> None:
        async with self._lock:
            holds = self._holds.get(user_id, {})
            holds.pop(run_id, None)
            if not holds:
                self._holds.pop(user_id, None)

    async def held_usd(self, user_id: str) -> float:
        return sum(self._holds.get(user_id, {}).values())


# KEYS: holds (run -> usd), hold expiries (run -> ms), notes (run -> usd), note times (run -> ms).
# ARGV: budget, wanted (empty: all left), spent, ms when the spent read began, run, hold ms,
# note ms, epsilon.
# Returns {1, granted} or {0, held}; numbers as strings (Redis would truncate Lua numbers).
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[1], r)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[7]))) do
  redis.call('HDEL', KEYS[3], r)
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[7]))
local held = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do held = held + tonumber(v) end
local since = tonumber(ARGV[4])
for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], since, '+inf')) do
  held = held + tonumber(redis.call('HGET', KEYS[3], r) or '0')
end
local left = tonumber(ARGV[1]) - tonumber(ARGV[3]) - held
if left <= tonumber(ARGV[8]) then return {0, tostring(held)} end
local grant = left
if ARGV[2] ~= '' then grant = math.min(tonumber(ARGV[2]), left) end
redis.call('HSET', KEYS[1], ARGV[5], string.format('%.17g', grant))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[5])
local keep = tonumber(ARGV[6]) + tonumber(ARGV[7])
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], keep) end
return {1, string.format('%.17g', grant)}
"""

# KEYS as above. ARGV: run, cost (empty: unknown, the amount held), note ms.
# Drops the hold and leaves a note of the real cost.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = ARGV[2]
if cost == '' then cost = redis.call('HGET', KEYS[1], ARGV[1]) or '0' end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], cost)
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[3]))
return 0
"""


class RedisBudgets:
    """Holds in Redis, shared by every instance. A hold not released within `hold_s` (its
    runner died) lapses."""

    def __init__(self, client: Redis, *, hold_s: float = 3600.0) -> None:
        self._client = client
        self._hold_ms = max(1, math.ceil(hold_s * 1000))

    @staticmethod
    def _keys(user_id: str) -> tuple[str, str, str, str]:
        base = BUDGET_KEY + user_id
        return (base, base + ":expiry", base + ":notes", base + ":noted")

    async def _now_ms(self) -> int:
        seconds, micros = await self._client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def hold(
        self,
        user_id: str,
        run_id: str,
        *,
        budget_usd: float,
        wanted_usd: float | None,
        spent: SpentReader,
    ) -> float:
        since = await self._now_ms()
        spent_usd = await spent()
        raw = self._client.eval(
            _HOLD,
            4,
            *self._keys(user_id),
            repr(budget_usd),
            "" if wanted_usd is None else repr(wanted_usd),
            repr(spent_usd),
            str(since),
            run_id,
            str(self._hold_ms),
            str(NOTE_KEEP_MS),
            repr(EPSILON_USD),
        )
        granted, amount = await raw  # type: ignore[misc]
        if int(granted) != 1:
            raise exhausted(budget_usd, spent_usd, float(amount))
        return float(amount)

    async def release(self, user_id: str, run_id: str, *, cost_usd: float | None) -> None:
        cost = "" if cost_usd is None else repr(cost_usd)
        await self._client.eval(  # type: ignore[misc]
            _RELEASE, 4, *self._keys(user_id), run_id, cost, str(NOTE_KEEP_MS)
        )

    async def held_usd(self, user_id: str) -> float:
        values = await self._client.hvals(self._keys(user_id)[0])  # type: ignore[misc]
        return sum(float(v) for v in values)
