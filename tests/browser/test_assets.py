"""The dashboard's files over HTTP: content types, versioned caching, no path escapes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from orchestratex.web.assets import asset_version
from orchestratex.web.routes import BUNDLE, STYLESHEET, router


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    if not BUNDLE.is_file():
        pytest.fail(f"the dashboard is not built ({BUNDLE} is missing): run `make web`")
    app = FastAPI(docs_url=None, redoc_url=None)  # as api/app.py: ours, not the CDN ones
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as opened:
        yield opened


async def test_index_names_versioned_assets(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    scripts = re.findall(r'src="(/static/dist/app\.js\?v=[0-9a-f]{12})"', response.text)
    assert scripts == [f"/static/dist/app.js?v={asset_version(BUNDLE)}"]
    assert f"/static/app.css?v={asset_version(STYLESHEET)}" in response.text
    assert "__ORX_" not in response.text


async def test_assets_have_their_content_types(client: httpx.AsyncClient) -> None:
    script = await client.get(f"/static/dist/app.js?v={asset_version(BUNDLE)}")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in script.headers["cache-control"]
    assert script.content == BUNDLE.read_bytes()
    style = await client.get("/static/app.css")
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert style.headers["cache-control"] == "no-cache"
    assert style.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../routes.py",
        "/static/%2e%2e/routes.py",
        "/static/..%2froutes.py",
        "/static/index.html",
        "/static/dist/missing.js",
        "/static/.hidden.js",
        "/static/",
    ],
)
async def test_nothing_outside_the_assets_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "OrchestrateX" not in response.text


def test_the_version_follows_the_content(tmp_path: Path) -> None:
    asset = tmp_path / "a.js"
    asset.write_text("one")
    first = asset_version(asset)
    assert asset_version(asset) == first
    asset.write_text("two!")
    assert asset_version(asset) != first


@pytest.mark.parametrize(
    ("path", "bundle"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc")]
)
async def test_docs_pages_name_only_bundled_assets(
    client: httpx.AsyncClient, path: str, bundle: str
) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any(bundle in a for a in assets)
    for asset in assets:
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert "immutable" in served.headers["cache-control"]


async def test_katex_fonts_are_served_as_fonts(client: httpx.AsyncClient) -> None:
    fonts = sorted((BUNDLE.parent).glob("KaTeX_Main-Regular-*.woff2"))
    assert fonts, "the bundle's KaTeX fonts are missing: run `make web`"
    served = await client.get(f"/static/dist/{fonts[0].name}")
    assert served.status_code == 200 and served.headers["content-type"] == "font/woff2"
