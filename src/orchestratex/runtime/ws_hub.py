"""The registry of open WebSocket connections, their limits and their counters.

One hub per app. Its limits are plain attributes so a deployment (or a test) can change them
before connections open: `heartbeat_s`, `auth_timeout_s`, `max_subscriptions`,
`max_frame_bytes`.
"""

from __future__ import annotations

from pydantic import BaseModel

DEFAULT_HEARTBEAT_S = 15.0
DEFAULT_AUTH_TIMEOUT_S = 10.0
MAX_SUBSCRIPTIONS = 50
MAX_FRAME_BYTES = 16 * 1024


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
    ) -> None:
        self.heartbeat_s = heartbeat_s
        self.auth_timeout_s = auth_timeout_s
        self.max_subscriptions = max_subscriptions
        self.max_frame_bytes = max_frame_bytes
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
