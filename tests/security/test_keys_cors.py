"""API keys at rest and in comparison, and CORS: closed by default, open only to named origins."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from orchestratex.api.app import create_app
from orchestratex.runtime.auth import authenticate, create_key, revoke_key
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog

UNUSED_PROVIDER = "http://127.0.0.1:9/v1"


def read_tree(root: Path) -> bytes:
    """Every file under `root` (the database and its journals), concatenated."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


async def _client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    app = create_app(settings, catalog=fake_catalog(UNUSED_PROVIDER))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client, app.state.service


@pytest.fixture
async def closed(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async for pair in _client(Settings(data_dir=tmp_path)):
        yield pair


@pytest.fixture
async def open_to_dash(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async for pair in _client(Settings(data_dir=tmp_path, cors_origins=["https://dash.example"])):
        yield pair


async def test_keys_hashed_at_rest_and_matched_exactly(
    closed: tuple[httpx.AsyncClient, Service], tmp_path: Path
) -> None:
    _, service = closed
    async with service.sessions() as session:
        made = await create_key(session, name="carol", budget_usd=5.0)
        other = await create_key(session, name="dave")
    raw = read_tree(tmp_path)
    for key in (made.key, other.key):
        assert key.encode() not in raw and key[12:].encode() not in raw
    assert hashlib.sha256(made.key.encode()).hexdigest().encode() in raw

    async with service.sessions() as session:
        found = await authenticate(session, made.key)
        assert found is not None and found.user_id == made.user_id and found.budget_usd == 5.0
        flipped = made.key[:-1] + ("A" if made.key[-1] != "A" else "B")
        for wrong in (
            flipped,
            made.key[:-1],
            made.key + "x",
            made.key.upper(),
            " " + made.key,
            made.key[4:],
            "orx_" + "a" * 300,
            "",
            hashlib.sha256(made.key.encode()).hexdigest(),
        ):
            assert await authenticate(session, wrong) is None, wrong
        assert await revoke_key(session, made.prefix) == 1
        assert await authenticate(session, made.key) is None
        assert await authenticate(session, other.key) is not None


async def test_cors_closed_by_default(closed: tuple[httpx.AsyncClient, Service]) -> None:
    client, _ = closed
    evil = {"Origin": "https://evil.example"}
    simple = await client.get("/healthz", headers=evil)
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    preflight = await client.options(
        "/api/orchestrate/prompt",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code >= 400
    assert not any(h.startswith("access-control-") for h in preflight.headers)


async def test_cors_open_only_to_configured_origins(
    open_to_dash: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = open_to_dash
    request_headers = "Authorization, Content-Type"
    ok = await client.options(
        "/api/orchestrate/prompt",
        headers={
            "Origin": "https://dash.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": request_headers,
        },
    )
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://dash.example"
    assert "access-control-allow-credentials" not in ok.headers
    simple = await client.get("/healthz", headers={"Origin": "https://dash.example"})
    assert simple.headers["access-control-allow-origin"] == "https://dash.example"

    for origin in ("https://evil.example", "https://dash.example.evil.com", "null"):
        refused = await client.options(
            "/api/orchestrate/prompt",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert refused.status_code == 400, origin
        assert "access-control-allow-origin" not in refused.headers
        plain = await client.get("/healthz", headers={"Origin": origin})
        assert "access-control-allow-origin" not in plain.headers
    bad_method = await client.options(
        "/api/orchestrate/prompt",
        headers={"Origin": "https://dash.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert bad_method.status_code == 400
