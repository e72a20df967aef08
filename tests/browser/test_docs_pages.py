"""/docs and /redoc render the API reference from bundled assets, with the network cut off.

Every request that does not go to the service itself is aborted and recorded: a page that
still reached for a CDN (or Google Fonts, or the Swagger validator) fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route

from tests.browser.conftest import LiveService, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""ReDoc's "API docs by Redocly" link always asks for this logo; the page's CSP blocks it before
any request is made (ReDoc then hides the image), which Chromium reports on the console."""


def _unexpected(errors: list[str]) -> list[str]:
    return [e for e in errors if not (REDOC_LOGO in e and "Content Security Policy" in e)]


@dataclass
class OfflinePage:
    page: Page
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="module")
async def offline(browser: Browser, live: LiveService) -> AsyncIterator[OfflinePage]:
    """A page that can reach only the service; anything else is aborted and noted."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = await context.new_page()
    seen = OfflinePage(page)

    async def only_the_service(route: Route) -> None:
        url = route.request.url
        if url.startswith(live.base_url + "/") or url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            seen.outside.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_the_service)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on(
        "console",
        lambda message: seen.errors.append(message.text) if message.type == "error" else None,
    )
    try:
        yield seen
    finally:
        await context.close()


async def test_swagger_ui_renders_the_operations_offline(
    offline: OfflinePage, live: LiveService
) -> None:
    page = offline.page
    response = await page.goto(live.base_url + "/docs")
    assert response is not None and response.status == 200
    await page.wait_for_selector(".opblock-summary-path")
    paths = await page.locator(".opblock-summary-path").all_text_contents()
    assert "/api/orchestrate/prompt" in paths
    assert "/v1/chat/completions" in paths
    assert await page.locator(".opblock").count() >= 10
    assert "SwaggerUIBundle" in await page.evaluate("() => Object.keys(window).join(' ')")
    await screenshot(page, "docs-swagger.png")
    assert offline.outside == []
    assert offline.errors == []


async def test_redoc_renders_the_operations_offline(
    offline: OfflinePage, live: LiveService
) -> None:
    page = offline.page
    response = await page.goto(live.base_url + "/redoc")
    assert response is not None and response.status == 200
    await page.wait_for_selector("[data-section-id^='operation/']")
    assert await page.locator("[data-section-id^='operation/']").count() >= 10
    text = await page.text_content("redoc") or ""
    assert "/api/orchestrate/prompt" in text
    await screenshot(page, "docs-redoc.png")
    assert offline.outside == []
    assert _unexpected(offline.errors) == []


async def test_the_dashboard_has_a_favicon(offline: OfflinePage, live: LiveService) -> None:
    page = offline.page
    await page.goto(live.base_url + "/")
    href = await page.get_attribute("link[rel=icon]", "href")
    assert href and href.startswith("/static/favicon.svg?v=")
    icon = await page.request.get(live.base_url + href)
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in await icon.body()
    fallback = await page.request.get(live.base_url + "/favicon.ico")
    assert fallback.status == 200
    assert offline.outside == []
