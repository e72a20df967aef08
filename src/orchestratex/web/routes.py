"""The web dashboard: `/` serves index.html, `/static/...` its assets (built into static/dist).

Asset URLs in index.html carry a content hash (`?v=...`), so browsers may cache them for good;
index.html itself is always revalidated. The dashboard talks to the service only through the
public REST and WebSocket API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from orchestratex.web import docs
from orchestratex.web.assets import STATIC_DIR, asset_version

BUNDLE = STATIC_DIR / "dist" / "app.js"
BUNDLE_CSS = STATIC_DIR / "dist" / "app.css"
"""Styles bundled from npm packages (KaTeX's), next to the bundle."""
STYLESHEET = STATIC_DIR / "app.css"
FAVICON = STATIC_DIR / "favicon.svg"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".txt": "text/plain; charset=utf-8",
}
CACHE_FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
NOT_BUILT = (
    "The dashboard is not built: run `make web` (npm ci and npm run build in "
    "src/orchestratex/web/frontend), then reload."
)

router = APIRouter(tags=["web"], include_in_schema=False)
router.include_router(docs.router)


def render_index() -> str | None:
    """index.html with the assets' versions filled in; None when the bundle is not built."""
    if not BUNDLE.is_file() or not BUNDLE_CSS.is_file():
        return None
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    versions = {
        "__ORX_JS_VERSION__": BUNDLE,
        "__ORX_BUNDLE_CSS_VERSION__": BUNDLE_CSS,
        "__ORX_CSS_VERSION__": STYLESHEET,
        "__ORX_ICON_VERSION__": FAVICON,
    }
    for placeholder, path in versions.items():
        html = html.replace(placeholder, asset_version(path))
    return html


@router.get("/", response_model=None)
def index() -> Response:
    """The single page of the dashboard."""
    html = render_index()
    if html is None:
        return PlainTextResponse(NOT_BUILT, status_code=503)
    headers = {
        "Cache-Control": REVALIDATE,
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(html, headers=headers)


def resolve_asset(relative: str) -> Path | None:
    """The file under static/ named by `relative`, or None (missing, hidden or outside)."""
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    parts = Path(relative).parts
    if any(part.startswith(".") for part in parts) or Path(relative).is_absolute():
        return None
    candidate = (STATIC_DIR / relative).resolve()
    if not candidate.is_relative_to(STATIC_DIR) or not candidate.is_file():
        return None
    if candidate.suffix not in CONTENT_TYPES or candidate.name == "index.html":
        return None
    return candidate


@router.get("/favicon.ico", response_model=None)
def favicon() -> Response:
    """Browsers ask for /favicon.ico on their own; the page itself links the SVG icon."""
    return FileResponse(
        FAVICON, media_type=CONTENT_TYPES[".svg"], headers={"Cache-Control": REVALIDATE}
    )


@router.get("/static/{relative:path}", response_model=None)
def static_asset(relative: str, request: Request) -> Response:
    """A dashboard asset; cached for good when the URL carries its version."""
    path = resolve_asset(relative)
    if path is None:
        return PlainTextResponse("not found", status_code=404)
    versioned = "v" in request.query_params
    headers = {
        "Cache-Control": CACHE_FOREVER if versioned else REVALIDATE,
        "X-Content-Type-Options": "nosniff",
    }
    return FileResponse(path, media_type=CONTENT_TYPES[path.suffix], headers=headers)
