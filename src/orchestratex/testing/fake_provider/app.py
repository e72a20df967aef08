"""The ASGI app of the fake provider: both API dialects plus health, stats and models."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestratex.testing.fake_provider.anthropic_routes import anthropic_routes
from orchestratex.testing.fake_provider.openai_routes import openai_routes
from orchestratex.testing.fake_provider.state import FakeState

MODEL_IDS = ("fake-model-a", "fake-model-b", "fake-down", "fake-badjudge")
"""Ids listed by GET /v1/models; any other id is accepted too."""


class _CountRequests:
    """Counts /v1/* requests, including how many run at once (streams until their last byte)."""

    def __init__(self, app: ASGIApp, state: FakeState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        self.state.request_started(path)
        try:
            await self.app(scope, receive, send)
        finally:
            self.state.request_finished()


def build_app(state: FakeState) -> ASGIApp:
    """An ASGI app serving the fake provider from `state`."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "tool": "orchestratex fake provider (test tool)"})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats.model_dump(mode="json"))

    async def requests(request: Request) -> JSONResponse:
        return JSONResponse({"requests": list(state.requests)})

    async def models(request: Request) -> JSONResponse:
        created = int(time.time())
        data = [
            {
                "id": model_id,
                "object": "model",
                "created": created,
                "owned_by": "orchestratex-fake-provider",
                "type": "model",
                "display_name": f"{model_id} (test tool)",
                "created_at": "2025-01-01T00:00:00Z",
            }
            for model_id in MODEL_IDS
        ]
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": MODEL_IDS[0],
                "last_id": MODEL_IDS[-1],
            }
        )

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/requests", requests, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        *openai_routes(state),
        *anthropic_routes(state),
    ]
    return _CountRequests(Starlette(routes=routes), state)
