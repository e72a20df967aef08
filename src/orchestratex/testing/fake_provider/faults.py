"""Fault injection: which fault a request gets, hanging, and responses cut short."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from orchestratex.testing.fake_provider.options import FakeProviderOptions, FaultKind

ERROR_STATUS: dict[str, int] = {
    "rate_limit": 429,
    "server_error": 500,
    "timeout": 504,
    "down": 500,
    "overloaded": 529,
    "bad_request": 400,
}
"""HTTP status of each fault that is answered with an error body."""

_CUT_LOG_MESSAGE = "ASGI callable returned without completing response."


class FaultPicker:
    """Draws faults from a seeded RNG; a new seed in the options restarts the sequence."""

    def __init__(self) -> None:
        self._seed: int | None = None
        self._rng = random.Random()
        self._seeded = False

    def pick(self, options: FakeProviderOptions) -> FaultKind | None:
        """The fault for the next request, or None for a normal answer."""
        if not self._seeded or options.seed != self._seed:
            self._seed = options.seed
            self._rng = random.Random(options.seed)
            self._seeded = True
        if not options.faults or options.fail_rate <= 0.0:
            return None
        if self._rng.random() >= options.fail_rate:
            return None
        return self._rng.choice(options.faults)


async def hang(request: Request, seconds: float, closing: asyncio.Event) -> None:
    """Wait `seconds`, or less if the client goes away or the server is closing."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not closing.is_set():
        left = deadline - loop.time()
        if left <= 0 or await request.is_disconnected():
            return
        try:
            await asyncio.wait_for(closing.wait(), timeout=min(left, 0.05))
        except TimeoutError:
            continue


class PartialResponse(Response):
    """Sends headers and some body parts, then drops the connection (no terminal chunk)."""

    def __init__(
        self,
        parts: Sequence[bytes],
        *,
        media_type: str,
        delay_s: float = 0.0,
        content_length: int | None = None,
    ) -> None:
        super().__init__(status_code=200)
        self.parts = list(parts)
        self.delay_s = delay_s
        self.raw_headers = [(b"content-type", media_type.encode("latin-1"))]
        if content_length is not None:
            self.raw_headers.append((b"content-length", str(content_length).encode("latin-1")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        for part in self.parts:
            if self.delay_s > 0:
                await asyncio.sleep(self.delay_s)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        # Returning without the final body message makes the server close the connection.


class _DropCutNotice(logging.Filter):
    """Hides the server's error line for a response that was cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _CUT_LOG_MESSAGE


def quiet_cut_notices() -> None:
    """Install (once) the filter that hides uvicorn's notice for deliberately cut responses."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropCutNotice) for f in logger.filters):
        logger.addFilter(_DropCutNotice())
