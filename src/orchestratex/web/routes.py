"""The web dashboard: `/` serves index.html, `/static/...` its assets (built into static/dist).

Asset URLs in index.html carry a content hash (`?v=...`), so browsers may cache them for good;
index.html itself is always revalidated. The dashboard talks to the service only through the
public REST and WebSocket API.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
BUNDLE = STATIC_DIR / "dist" / "app.js"
STYLESHEET = STATIC_DIR / "app.css"

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


@lru_cache(maxsize=64)
def _hash(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_version(path: Path) -> str:
    """A short content hash of the file (recomputed only when it changes)."""
    stat = path.stat()
    return _hash(path, stat.st_mtime_ns, stat.st_size)


def render_index() -> str | None:
    """index.html with the assets' versions filled in; None when the bundle is not built."""
    if not BUNDLE.is_file():
        return None
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("__ORX_JS_VERSION__", asset_version(BUNDLE)).replace(
        "__ORX_CSS_VERSION__", asset_version(STYLESHEET)
    )


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
