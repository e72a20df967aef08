"""Live events over WebSocket: one thread (`/ws/thread/{id}`) or many (`/ws/{session_id}`).

Each connection authenticates (header or first message), then replays and follows threads
through `runtime.live`. Frames from the client are JSON objects of at most `max_frame_bytes`;
a larger one closes the connection with 1009, anything unreadable gets an `invalid_message`
error and the connection stays open. Sends go through one lock, so events keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from starlette.applications import Starlette

from orchestratex.api.deps import AdminUser, MalformedAuthorization, bearer_token, principal_for
from orchestratex.api.local_guard import OpenModeRefused
from orchestratex.core.text import is_safe_text
from orchestratex.runtime.auth import ANONYMOUS, Principal
from orchestratex.runtime.live import SubscriberLagged, open_service_feed
from orchestratex.runtime.service import Service
from orchestratex.runtime.ws_hub import WsHub, WsStats

log = logging.getLogger(__name__)
router = APIRouter(tags=["live"])

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_SEQ = 2**63 - 1
"""The largest `after_seq` a subscription may give (a database integer)."""
MAX_THREAD_ID_CHARS = 128
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404


def hub_of(app: Starlette) -> WsHub:
    """The app's hub, made on first use (its attributes configure heartbeats and limits)."""
    hub: WsHub | None = getattr(app.state, "ws_hub", None)
    if hub is None:
        hub = WsHub()
        app.state.ws_hub = hub
    return hub


def _valid_thread_id(value: object) -> bool:
    """A string of 1..MAX_THREAD_ID_CHARS characters that can be looked up (no NUL, no lone
    surrogate: those cannot reach the database)."""
    return isinstance(value, str) and 0 < len(value) <= MAX_THREAD_ID_CHARS and is_safe_text(value)


class _Disconnected(Exception):
    """The client went away."""


class _TooLarge(Exception):
    """The client sent a frame over the size limit."""


class Connection:
    """One client socket: authentication, subscriptions, heartbeats and ordered sends."""

    def __init__(self, ws: WebSocket, service: Service, hub: WsHub, session_id: str) -> None:
        self.ws = ws
        self.service = service
        self.hub = hub
        self.session_id = session_id
        self.user: Principal = ANONYMOUS
        self._key: str | None = None
        """The API key the connection authenticated with (None in open mode)."""
        self.close_code = CLOSE_NORMAL
        self._conn_id = hub.connect()
        self._lock = asyncio.Lock()
        self._subs: dict[str, asyncio.Task[None]] = {}
        self._done = asyncio.Event()
        self._disconnected = False
        self._admitted = False

    def finish(self, code: int) -> None:
        """End the connection with `code` (the first reason wins)."""
        if not self._done.is_set():
            self.close_code = code
            self._done.set()

    async def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        async with self._lock:
            await self.ws.send_text(text)
        self.hub.sent()

    async def error(self, code: str, message: str) -> None:
        await self.send({"type": "error", "code": code, "message": message})

    async def run(self, primary: str | None = None) -> None:
        """Serve the socket until the client leaves or the connection is finished."""
        tasks: list[asyncio.Task[None]] = []
        try:
            await self.ws.accept()
            mode = await self._authenticate()
            if mode is None:
                return
            if not self.hub.admit(self.user.user_id):
                limit = self.hub.max_connections_per_user
                await self.error("too_many_connections", f"at most {limit} per API key")
                self.finish(CLOSE_TRY_LATER)
                return
            self._admitted = True
            await self.send({"type": "ready", "session_id": self.session_id, "auth": mode})
            if primary is not None and not await self.subscribe(primary, primary=True):
                self.finish(CLOSE_NOT_FOUND)
                return
            tasks.append(asyncio.create_task(self._read_loop()))
            tasks.append(asyncio.create_task(self._heartbeats()))
            await self._done.wait()
        except _Disconnected:
            self._disconnected = True
        except _TooLarge:
            self.finish(CLOSE_TOO_BIG)
        except Exception as exc:
            log.info("websocket session %s ended: %s", self.session_id, type(exc).__name__)
            self.finish(CLOSE_NORMAL)
        finally:
            # Synchronous clean-up first: the awaits below may be cancelled with this task.
            tasks.extend(self._subs.values())
            self._subs.clear()
            self.hub.disconnect(self._conn_id)
            if self._admitted:
                self.hub.release(self.user.user_id)
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
            if not self._disconnected:
                with contextlib.suppress(Exception):
                    reason = "frame too large" if self.close_code == CLOSE_TOO_BIG else None
                    await self.ws.close(self.close_code, reason)

    async def _authenticate(self) -> str | None:
        """ "ok" or "disabled"; None after telling the client it is unauthorized."""
        header = self.ws.headers.get("authorization")
        try:
            token = bearer_token(header)
        except MalformedAuthorization:
            return await self._accept_principal(None)
        try:
            peer = self.ws.client.host if self.ws.client is not None else None
            principal = await principal_for(self.service, token, self.ws.headers, peer)
        except OpenModeRefused as exc:
            await self.error("forbidden", str(exc))
            self.finish(CLOSE_POLICY)
            return None
        if principal is ANONYMOUS:
            return "disabled"
        if principal is not None or header is not None:
            self._key = token
            return await self._accept_principal(principal)
        try:
            async with asyncio.timeout(self.hub.auth_timeout_s):
                message = await self._receive()
        except TimeoutError:
            message = None
        principal = None
        if message is not None and message.get("type") == "auth":
            given = message.get("api_key")
            usable = isinstance(given, str) and len(given) <= 512 and is_safe_text(given)
            principal = await self._principal(given) if usable and isinstance(given, str) else None
            self._key = given if principal is not None and isinstance(given, str) else None
        return await self._accept_principal(principal)

    async def _principal(self, key: str) -> Principal | None:
        return await self.service.authenticate(key)

    async def _accept_principal(self, principal: Principal | None) -> str | None:
        if principal is None:
            await self.error("unauthorized", "a valid API key is required")
            self.finish(CLOSE_UNAUTHORIZED)
            return None
        self.user = principal
        return "ok"

    async def _receive(self) -> dict[str, Any] | None:
        """The next client message as a JSON object with a string `type`, or None if unreadable."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise _Disconnected
        self.hub.received()
        text: str | None = message.get("text")
        if text is None:
            data: bytes = message.get("bytes") or b""
            if len(data) > self.hub.max_frame_bytes:
                raise _TooLarge
            return None
        limit = self.hub.max_frame_bytes
        if len(text) > limit or len(text.encode("utf-8")) > limit:
            raise _TooLarge
        try:
            parsed = json.loads(text)
        except ValueError:
            return None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            return None
        return parsed

    async def _read_loop(self) -> None:
        pace = self.hub.pace()
        try:
            while True:
                await pace.wait()
                message = await self._receive()
                if message is None:
                    await self.error("invalid_message", "send a JSON object with a known type")
                else:
                    await self._handle(message)
        except _Disconnected:
            self._disconnected = True
            self.finish(CLOSE_NORMAL)
        except _TooLarge:
            self.finish(CLOSE_TOO_BIG)
        except Exception:
            self.finish(CLOSE_NORMAL)

    async def _try_error(self, code: str, message: str) -> None:
        with contextlib.suppress(Exception):
            await self.error(code, message)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "auth":
            return  # already authenticated (or auth is disabled): nothing to do
        thread_id = message.get("thread_id")
        after_seq = message.get("after_seq", 0)
        if not isinstance(thread_id, str) or not 0 < len(thread_id) <= MAX_THREAD_ID_CHARS:
            thread_id = None
        elif not is_safe_text(thread_id) and kind in ("subscribe", "unsubscribe"):
            # NUL or a lone surrogate: no thread has such an id (and it cannot be looked up).
            await self.error("thread_not_found", "no such thread")
            return
        if type(after_seq) is not int or not 0 <= after_seq <= MAX_SEQ:
            after_seq = None
        if kind == "subscribe" and thread_id is not None and after_seq is not None:
            await self.subscribe(thread_id, after_seq=after_seq)
        elif kind == "unsubscribe" and thread_id is not None:
            await self.unsubscribe(thread_id)
        else:
            await self.error("invalid_message", "unknown message type or malformed fields")

    async def _still_allowed(self) -> bool:
        """Whether the connection's key still holds (revoked since it connected: no), or, in
        open mode, whether no key exists yet; tells the client and closes it when not."""
        if self._key is not None:
            allowed = await self.service.authenticate(self._key) is not None
        else:
            allowed = self.user is not ANONYMOUS or not await self.service.auth_enabled()
        if not allowed:
            await self.error("unauthorized", "the API key is no longer valid; connect again")
            self.finish(CLOSE_UNAUTHORIZED)
        return allowed

    async def subscribe(self, thread_id: str, *, after_seq: int = 0, primary: bool = False) -> bool:
        """Check the key and the thread, then replay and follow it in its own task; False on an
        error."""
        if not await self._still_allowed():
            return False
        found = None
        if _valid_thread_id(thread_id):
            found = await self.service.status(thread_id, user=self.user)
        if found is None:
            await self.error("thread_not_found", "no such thread")
            return False
        if thread_id in self._subs:
            await self._subscribed(thread_id, 0, found.status)
            return True
        if len(self._subs) >= self.hub.max_subscriptions:
            limit = self.hub.max_subscriptions
            await self.error("too_many_subscriptions", f"at most {limit} per connection")
            return False
        task = asyncio.create_task(self._follow(thread_id, after_seq, found.status, primary))
        self._subs[thread_id] = task
        self.hub.set_subscriptions(self._conn_id, len(self._subs))
        return True

    async def unsubscribe(self, thread_id: str) -> None:
        task = self._subs.pop(thread_id, None)
        self.hub.set_subscriptions(self._conn_id, len(self._subs))
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self.send({"type": "unsubscribed", "thread_id": thread_id})

    async def _subscribed(self, thread_id: str, replayed: int, status: str) -> None:
        await self.send(
            {"type": "subscribed", "thread_id": thread_id, "replayed": replayed, "status": status}
        )

    async def _follow(self, thread_id: str, after_seq: int, status: str, primary: bool) -> None:
        """Send the replay, then live events, until the thread ends."""
        try:
            async with open_service_feed(self.service, thread_id, after_seq=after_seq) as feed:
                await self._subscribed(thread_id, len(feed.replay), status)
                async for event in feed.events():
                    await self.send({"type": "event", "event": event.model_dump(mode="json")})
        except SubscriberLagged:
            await self._try_error("lagged", "the connection fell behind; reconnect to resume")
            self.finish(CLOSE_TRY_LATER)
            return
        except Exception as exc:
            log.info("live feed of thread %s ended: %s", thread_id, type(exc).__name__)
            self.finish(CLOSE_NORMAL)
            return
        finally:
            if self._subs.get(thread_id) is asyncio.current_task():
                del self._subs[thread_id]
                self.hub.set_subscriptions(self._conn_id, len(self._subs))
        if primary:
            self.finish(CLOSE_NORMAL)

    async def _heartbeats(self) -> None:
        interval = self.hub.heartbeat_s
        try:
            while True:
                await asyncio.sleep(interval)
                await self.send({"type": "heartbeat", "ts": datetime.now(UTC).isoformat()})
        except Exception:
            self.finish(CLOSE_NORMAL)


def _service(ws: WebSocket) -> Service:
    service: Service = ws.app.state.service
    return service


@router.websocket("/ws/thread/{thread_id}")
async def ws_thread(websocket: WebSocket, thread_id: str) -> None:
    """Follow one thread; closed with 1000 after its terminal event."""
    connection = Connection(
        websocket, _service(websocket), hub_of(websocket.app), f"thread-{uuid.uuid4().hex}"
    )
    await connection.run(primary=thread_id)


@router.websocket("/ws/{session_id}")
async def ws_session(websocket: WebSocket, session_id: str) -> None:
    """A multiplexed connection: subscribe and unsubscribe threads by message."""
    if not SESSION_ID.fullmatch(session_id):
        await websocket.close(CLOSE_POLICY)
        return
    connection = Connection(websocket, _service(websocket), hub_of(websocket.app), session_id)
    await connection.run()


@router.get("/api/ws/stats")
async def ws_stats(request: Request, user: AdminUser) -> WsStats:
    """Open connections and subscriptions, and message counts since start (admin)."""
    return hub_of(request.app).stats()
