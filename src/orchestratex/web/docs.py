"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from bundled assets, never a CDN.

The bundles come from the npm registry (swagger-ui-dist and redoc, pinned in the frontend's
package-lock.json) and are copied into static/dist/docs by `make web`. FastAPI's own docs pages,
which load them from a CDN, are turned off in api/app.py.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from orchestratex.web.assets import STATIC_DIR, asset_version

DOCS_DIR = STATIC_DIR / "dist" / "docs"
SWAGGER_JS = DOCS_DIR / "swagger-ui-bundle.js"
SWAGGER_CSS = DOCS_DIR / "swagger-ui.css"
SWAGGER_INIT = STATIC_DIR / "swagger-init.js"
REDOC_JS = DOCS_DIR / "redoc.standalone.js"
FAVICON = STATIC_DIR / "favicon.svg"
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
NOT_BUILT = (
    "The API docs' assets are not built: run `make web` (npm ci and npm run build in "
    "src/orchestratex/web/frontend), then reload. The schema itself is at {openapi}."
)

router = APIRouter(tags=["web"], include_in_schema=False)


def _url(path: Path) -> str:
    """The asset's URL under /static, with its content hash (so it may be cached for good)."""
    return f"/static/{path.relative_to(STATIC_DIR).as_posix()}?v={asset_version(path)}"


def _page(title: str, head: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" href="{_url(FAVICON)}" type="image/svg+xml">\n{head}</head>\n'
        f"<body>\n{body}</body>\n</html>\n"
    )


def _respond(html: str) -> Response:
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": DOCS_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(html, headers=headers)


def _missing(request: Request, *files: Path) -> Response | None:
    if all(f.is_file() for f in files):
        return None
    openapi = request.app.openapi_url or "/openapi.json"
    return PlainTextResponse(NOT_BUILT.format(openapi=openapi), status_code=503)


@router.get("/docs", response_model=None)
def swagger_ui(request: Request) -> Response:
    """The interactive API reference (Swagger UI)."""
    missing = _missing(request, SWAGGER_JS, SWAGGER_CSS)
    if missing is not None:
        return missing
    openapi = escape(request.app.openapi_url or "/openapi.json")
    head = f'<link rel="stylesheet" href="{_url(SWAGGER_CSS)}">\n'
    body = (
        f'<div id="swagger-ui" data-openapi-url="{openapi}"></div>\n'
        f'<script src="{_url(SWAGGER_JS)}"></script>\n'
        f'<script src="{_url(SWAGGER_INIT)}"></script>\n'
    )
    return _respond(_page(f"{request.app.title} API — Swagger UI", head, body))


@router.get("/redoc", response_model=None)
def redoc(request: Request) -> Response:
    """The API reference as one readable page (ReDoc)."""
    missing = _missing(request, REDOC_JS)
    if missing is not None:
        return missing
    openapi = escape(request.app.openapi_url or "/openapi.json")
    head = "<style>body { margin: 0; padding: 0; }</style>\n"
    body = f'<redoc spec-url="{openapi}"></redoc>\n<script src="{_url(REDOC_JS)}"></script>\n'
    return _respond(_page(f"{request.app.title} API — ReDoc", head, body))
