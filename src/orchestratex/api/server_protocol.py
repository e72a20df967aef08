"""uvicorn's httptools HTTP/1.1 protocol with limits on what a client sends before the app runs.

`orchestratex serve`, the benchmarks' service process and the tests all serve through
`http_protocol(settings)`, so what is measured and tested is what ships.

- Head size: the request line and header fields together (names and values) over
  `max_header_bytes`, or more than `max_header_fields` fields, are answered 431 (the URL alone
  over the limit: 414) and the connection is closed; no route runs. A complete head is
  measured once, and only when the reads that carried it were longer than the limit. A head
  still arriving (a header line without its end, which the parser buffers) is bounded by those
  reads: each read that ends inside a head counts whole (with a pipelined request's tail, when
  one came in the same read).
- Head time: a request's head must be complete within `header_timeout_s` of the connection's
  opening (for its first request) or of its own first byte (later requests on a keep-alive
  connection); else 408 and close, or only close when no byte of a request came. Idle keep-alive
  connections stay under uvicorn's own `timeout_keep_alive`, and bytes that begin no request
  (blank lines) do not reset it.
- Body time: a request body must be complete within `body_timeout_s` of the end of its head;
  else 408 (when no answer was started), close, and the app's next `receive()` gets
  `http.disconnect`, as when a client goes away mid-body.

An answer here is followed by a lingering close: the connection's sending side is shut, what
the client still sends is read and dropped for up to `LINGER_S`, then it is closed. Closing at
once with unread bytes would reset the connection, and a client still sending its head would
lose the answer.

Only what the client sends is timed: a response, however long (an SSE stream, a long
orchestration), runs under no timer here. The timers are armed only when a read ends inside a
head or a body, so a request that comes in one read (the common case) costs no timer; a
connection costs one (armed when it opens, cancelled by its first complete head).
"""

from __future__ import annotations

import asyncio
import http
import json

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from orchestratex.api.error_shapes import shaped_error
from orchestratex.runtime.settings import Settings

LINGER_S = 2.0
"""After an answer from here, how long what the client still sends is read and dropped."""


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a head that broke a limit."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with head size, head time and body time limits (see the module)."""

    max_header_bytes = 65_536
    max_header_fields = 100
    header_timeout_s = 10.0
    body_timeout_s = 30.0

    # Per connection. Set before the parser can call back (connection_made precedes any data).
    _head_open = False  # between a request's first byte and the end of its head
    _body_open = False  # between the end of a head and the end of its body
    _head_read = 0  # bytes of the reads that ended inside the open head
    _read_len = 0  # bytes of the read being parsed
    _refusal: tuple[int, str] | None = None
    _lingering = False  # answered here: reads are dropped until the connection closes
    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that never completes a head is closed, even one that sends nothing.
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # HttpToolsProtocol.data_received, with the limits. The keep-alive timer is left to run
        # until a request begins (on_message_begin), so blank lines do not keep a connection.
        if self._lingering:
            return
        self._read_len = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._answer_and_close(*self._refusal)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._head_open:
            self._head_read += len(data)
            if self._head_read > self.max_header_bytes:
                self._answer_and_close(*self._too_large_head())
                return
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_late)
        elif self._body_open and self._body_timer is None:
            self._body_timer = self.loop.call_later(self.body_timeout_s, self._body_late)

    def handle_websocket_upgrade(self) -> None:
        self._stop_timers()  # the WebSocket protocol takes the connection over
        super().handle_websocket_upgrade()

    # Parser callbacks
    def on_message_begin(self) -> None:
        self._unset_keepalive_if_required()
        super().on_message_begin()
        self._head_open = True
        self._head_read = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)  # called for each read's part of the URL
        if len(self.url) > self.max_header_bytes:
            self._refusal = (414, f"the URL exceeds {self.max_header_bytes} bytes")
            raise _Refused

    # Header fields are not counted one by one (a call per field costs more than the rest of
    # the limits together): the head is measured once complete, and only when the reads that
    # carried it were longer than the limit.
    def on_headers_complete(self) -> None:
        if len(self.headers) > self.max_header_fields or (
            self._head_read + self._read_len > self.max_header_bytes
            and self._head_size() > self.max_header_bytes
        ):
            self._refusal = self._too_large_head()
            raise _Refused
        self._head_open = False
        self._body_open = True
        # A head begun while the previous response was under way found no keep-alive timer to
        # stop at its first byte; the response's end may have armed one since.
        self._unset_keepalive_if_required()
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._body_open = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # Limits
    def _head_size(self) -> int:
        """The URL and header fields' bytes (names and values) of the head parsed so far."""
        return len(self.url) + sum(len(name) + len(value) for name, value in self.headers)

    def _too_large_head(self) -> tuple[int, str]:
        if len(self.headers) > self.max_header_fields:
            return 431, f"a request may have at most {self.max_header_fields} header fields"
        return 431, f"the request line and header fields exceed {self.max_header_bytes} bytes"

    def _head_late(self) -> None:
        self._head_timer = None
        if self._head_open:
            self._answer_and_close(408, f"the request head took over {self.header_timeout_s:g} s")
        elif self.cycle is None or self.cycle.response_complete:
            self.transport.close()  # no request came: nothing to answer

    def _body_late(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if not self._body_open or cycle is None or self.transport.is_closing():
            return
        # The app's pending or next receive() returns http.disconnect, its sends are dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        if not cycle.response_started and not self.pipeline:
            self._answer_then_linger(408, f"the request body took over {self.body_timeout_s:g} s")
        else:
            self.transport.close()

    def _answer_and_close(self, status: int, message: str) -> None:
        """Answer `status` unless a response is under way on this connection, and close."""
        if self.transport.is_closing():
            return
        if (self.cycle is None or self.cycle.response_complete) and not self.pipeline:
            self._answer_then_linger(status, message)
        else:
            self.transport.close()

    def _answer_then_linger(self, status: int, message: str) -> None:
        self._stop_timers()
        self._write_answer(status, message)
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer, then its end
        self.loop.call_later(LINGER_S, self.transport.close)

    def _write_answer(self, status: int, message: str) -> None:
        path = str(self.scope.get("path", "")) if self.scope is not None else ""
        code = http.HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
        body = json.dumps(shaped_error(path, status, code, message)).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)

    def _stop_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


def http_protocol(settings: Settings) -> type[LimitedHttpProtocol]:
    """The protocol class for `uvicorn.Config(http=...)` with the settings' limits."""

    class ConfiguredHttpProtocol(LimitedHttpProtocol):
        max_header_bytes = settings.max_header_bytes
        max_header_fields = settings.max_header_fields
        header_timeout_s = settings.header_timeout_s
        body_timeout_s = settings.body_timeout_s

    return ConfiguredHttpProtocol
