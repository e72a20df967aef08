"""The registry of open WebSocket connections, their limits and their counters.

One hub per app. Its limits are plain attributes so a deployment (or a test) can change them
before connections open: `heartbeat_s`, `auth_timeout_s`, `max_subscriptions`,
`max_frame_bytes`, `max_connections_per_user` and the pace of a connection's messages
(`messages_per_s`, `message_burst`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

DEFAULT_HEARTBEAT_S = 15.0
DEFAULT_AUTH_TIMEOUT_S = 10.0
MAX_SUBSCRIPTIONS = 50
MAX_FRAME_BYTES = 16 * 1024
MAX_CONNECTIONS_PER_USER = 32
"""Open connections one API key (or open mode's anonymous user) may hold on one instance."""
MESSAGES_PER_S = 10.0
MESSAGE_BURST = 50
"""A connection's messages are read at most this fast after a burst of this many (a subscribe
reads the store); past it the service reads the next one later, so a flood slows down to the
pace instead of taking the service's time from everyone else."""


class WsStats(BaseModel):
    """Open connections and subscriptions now; message and connection counts since start."""

    connections: int
    subscriptions: int
    messages_sent: int
    messages_received: int
    connections_total: int


class WsHub:
    """Counts connections, subscriptions and messages; holds the per-connection limits."""

    def __init__(
        self,
        *,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        auth_timeout_s: float = DEFAULT_AUTH_TIMEOUT_S,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_connections_per_user: int = MAX_CONNECTIONS_PER_USER,
        messages_per_s: float = MESSAGES_PER_S,
        message_burst: int = MESSAGE_BURST,
    ) -> None:
        self.heartbeat_s = heartbeat_s
        self.auth_timeout_s = auth_timeout_s
        self.max_subscriptions = max_subscriptions
        self.max_frame_bytes = max_frame_bytes
        self.max_connections_per_user = max_connections_per_user
        self.messages_per_s = messages_per_s
        self.message_burst = message_burst
        self._per_user: Counter[str | None] = Counter()
        self._subscriptions: dict[int, int] = {}
        self._next_id = 0
        self.messages_sent = 0
        self.messages_received = 0
        self.connections_total = 0

    def connect(self) -> int:
        """Register a new connection; returns its id."""
        self._next_id += 1
        self.connections_total += 1
        self._subscriptions[self._next_id] = 0
        return self._next_id

    def disconnect(self, conn_id: int) -> None:
        self._subscriptions.pop(conn_id, None)

    def admit(self, user_id: str | None) -> bool:
        """Count one more connection of `user_id`; False (nothing counted) when at the cap."""
        if self._per_user[user_id] >= self.max_connections_per_user:
            return False
        self._per_user[user_id] += 1
        return True

    def release(self, user_id: str | None) -> None:
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    def pace(self) -> MessagePace:
        return MessagePace(self.messages_per_s, self.message_burst)

    def set_subscriptions(self, conn_id: int, count: int) -> None:
        if conn_id in self._subscriptions:
            self._subscriptions[conn_id] = count

    def sent(self) -> None:
        self.messages_sent += 1

    def received(self) -> None:
        self.messages_received += 1

    def stats(self) -> WsStats:
        return WsStats(
            connections=len(self._subscriptions),
            subscriptions=sum(self._subscriptions.values()),
            messages_sent=self.messages_sent,
            messages_received=self.messages_received,
            connections_total=self.connections_total,
        )


class MessagePace:
    """A token bucket: `wait()` returns at once while the burst lasts, then at `per_s`."""

    def __init__(
        self,
        per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._per_s = per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._at = clock()

    async def wait(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._per_s)
        self._at = now
        if self._tokens < 1.0:
            await self._sleep((1.0 - self._tokens) / self._per_s)
            self._tokens, self._at = 1.0, self._clock()
        self._tokens -= 1.0
