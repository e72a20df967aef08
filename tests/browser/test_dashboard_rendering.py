"""Answers rendered as Markdown with math, safely; a one-round score chart that shows its point;
the picker's and history's search buttons in view at 420 px.

The fake provider answers `ECHO:` prompts with the text that follows, so the model output here
is exactly what the test chose, hostile HTML included.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import LiveService, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ANSWER = "\n".join(
    [
        "ECHO:",
        "",
        "The area is \\( S = \\pi r^2 \\) and **bold** text, with display math:",
        "",
        "\\[ \\int_0^1 x^2 \\, dx = \\frac{1}{3} \\]",
        "",
        "Prices stay text: $5 and $10.",
        "",
        '<img src="/nope.png" onerror="window.__xss = 1"> <script>window.__xss = 2</script>',
        "",
        "[bad](javascript:window.__xss=3) and [good](https://example.com/docs)",
    ]
)


async def test_answers_render_markdown_and_math_safely(page: Page, live: LiveService) -> None:
    await sign_in(page, live)
    await page.fill("#prompt", ANSWER)
    await page.fill("#max-rounds", "1")
    await page.fill("#threshold", "1")
    await page.click("#submit-button")
    await page.wait_for_selector(".final .final-answer .markdown", timeout=20_000)
    answer = page.locator(".final .final-answer .markdown")

    # Math is typeset by KaTeX, inline and as a display block; no raw TeX delimiters remain.
    assert await answer.locator(".katex").count() >= 2
    assert await answer.locator(".katex-display").count() == 1
    text = await answer.inner_text()
    assert "\\(" not in text and "\\[" not in text and "\\frac" not in text
    assert "$5 and $10" in text
    assert await answer.locator("strong").all_text_contents() == ["bold"]

    # Model output cannot inject markup: the HTML shows as text, nothing ran, no bad links.
    assert await answer.locator("img, script").count() == 0
    assert "<script>" in text
    assert await page.evaluate("() => window.__xss === undefined")
    assert await answer.locator("a[href^='javascript']").count() == 0
    good = answer.locator("a[href='https://example.com/docs']")
    assert await good.get_attribute("rel") == "noopener noreferrer"
    assert await good.get_attribute("target") == "_blank"

    # One round: its point is drawn visibly inside the chart, not on the frame's edge.
    await page.wait_for_function(
        "() => (window.OrchestrateX.charts()['run-score-chart']?.datasets[0].points ?? 0) === 1"
    )
    aggregate = (await page.evaluate("window.OrchestrateX.charts()"))["run-score-chart"][
        "datasets"
    ][0]
    assert aggregate["radius"] >= 4
    assert aggregate["inset"] >= 40
    await screenshot(page, "dashboard-markdown-math.png")


async def test_search_buttons_fit_a_420px_screen(browser: Browser, live: LiveService) -> None:
    context = await browser.new_context(viewport={"width": 420, "height": 800})
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        await sign_in(page, live, "/#history")
        button = page.locator("#history-form button[type=submit]")
        await button.wait_for()
        box = await button.bounding_box()
        width = await page.evaluate("() => document.documentElement.clientWidth")
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        await screenshot(page, "dashboard-420-history.png")
    finally:
        await context.close()
