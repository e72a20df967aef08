"""Circuits shared by every instance through Redis: a circuit that opens on one opens on all.

When a circuit opens on an instance's own calls (a model's, or a provider's with
`breaker_scope: provider`), the instance publishes its name and cooldown on a channel and sets a
key `orx:breaker:<name>` that expires with the cooldown. Every other instance refuses that
model's calls for the rest of the cooldown, then probes it itself: a probe's verdict stays on
the instance that made it (a failed probe reopens the circuit there and is published again; the
probes that pass close it there only). An instance that starts during a cooldown reads the keys.

A message that is lost costs only speed: each instance still opens its circuits on its own
calls, as a single instance does. Nothing about a call travels, only the circuit's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from orchestratex.runtime.redis_bus import listen

log = logging.getLogger(__name__)

BREAKER_CHANNEL = "orx:breakers"
BREAKER_KEY = "orx:breaker:"
MAX_NAME_CHARS = 300

PeerOpened = Callable[[str, float], bool]
"""Opens circuit `name` here for `remaining_s`; False when the name means nothing here."""


class RedisBreakerPeers:
    """Tells the other instances of circuits opened here, and opens theirs here."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._me = uuid.uuid4().hex
        self._telling: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None

    def opened(self, name: str, cooldown_s: float) -> None:
        """A circuit opened on this instance's calls (called by the breaker, on the loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a gateway used outside a loop has no peers to tell
            return
        task = loop.create_task(self._tell(name, cooldown_s), name="orchestratex-breaker-tell")
        self._telling.add(task)
        task.add_done_callback(self._telling.discard)

    async def _tell(self, name: str, cooldown_s: float) -> None:
        message = json.dumps({"from": self._me, "name": name, "remaining_s": cooldown_s})
        try:
            await self._client.set(
                BREAKER_KEY + name, b"1", px=max(1, math.ceil(cooldown_s * 1000))
            )
            await self._client.publish(BREAKER_CHANNEL, message.encode())
        except (RedisError, OSError) as exc:
            log.warning("could not share the open circuit %r (%s)", name, type(exc).__name__)

    async def follow(self, on_peer_open: PeerOpened, *, timeout_s: float = 10.0) -> None:
        """From now on, open here every circuit another instance opens; first, those still in
        their cooldown (subscribed before reading them, so none falls between)."""

        async def heard(data: bytes) -> None:
            opened = _parse(data)
            if opened is not None and opened[0] != self._me:
                on_peer_open(opened[1], opened[2])

        ready = asyncio.Event()
        self._listener = asyncio.create_task(
            listen(self._client, BREAKER_CHANNEL, heard, ready), name="orchestratex-breakers"
        )
        await asyncio.wait_for(ready.wait(), timeout_s)
        async for key in self._client.scan_iter(match=BREAKER_KEY + "*", count=100):
            name = key[len(BREAKER_KEY) :].decode(errors="replace")
            left_ms = await self._client.pttl(key)
            if left_ms > 0:
                on_peer_open(name, left_ms / 1000.0)

    async def aclose(self) -> None:
        tasks = [*self._telling]
        if self._listener is not None:
            self._listener.cancel()
            tasks.append(self._listener)
            self._listener = None
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _parse(data: bytes) -> tuple[str, str, float] | None:
    """(sender, name, remaining seconds) of a channel message, or None when it is not one."""
    try:
        raw = json.loads(data)
        sender, name, remaining = raw["from"], raw["name"], float(raw["remaining_s"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed message on %s", BREAKER_CHANNEL)
        return None
    if not isinstance(sender, str) or not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        return None
    if not math.isfinite(remaining):
        return None
    return sender, name, remaining
