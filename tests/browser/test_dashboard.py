"""The dashboard in a real headless Chromium against a real service (fake provider behind it)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from tests.browser.conftest import LiveService, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

STREAMING = """() => {
  const pre = document.querySelector('.entry-round pre.streaming');
  return pre !== null && pre.textContent.length > 0;
}"""


async def charts(page: Page) -> dict[str, Any]:
    summary: dict[str, Any] = await page.evaluate("window.OrchestrateX.charts()")
    return summary


def plotted(chart: dict[str, Any]) -> int:
    return sum(int(d["points"]) for d in chart["datasets"])


async def test_a_run_fills_the_timeline_live(page: Page, live: LiveService) -> None:
    await sign_in(page, live)
    await page.fill(
        "#prompt", "Write a Python function that reverses a linked list, with a unit test."
    )
    await page.fill("#max-rounds", "3")
    await page.fill("#threshold", "8")
    await page.click("#submit-button")

    # While the run goes on: analysis, selection, then the answer streaming in chunk by chunk.
    await page.wait_for_selector(".entry-analysis .domain")
    await page.wait_for_selector(".entry-selection .candidates tbody tr")
    await page.wait_for_function(STREAMING)
    assert await page.text_content(".run-summary .status") == "running"

    await page.wait_for_selector(".final .final-answer", timeout=20_000)
    assert await page.text_content(".run-summary .status") == "completed"
    assert await page.text_content(".entry-analysis .domain") == "coding"
    selected = await page.text_content(".entry-selection .selected-model")
    assert selected and selected.startswith("fake-")
    answer = await page.text_content(".final-answer")
    assert answer and "[fake provider: test tool, not a model]" in answer

    # Judges' scores per round, an improvement step, and the score chart with every round.
    rounds = await page.locator(".entry-round").count()
    assert rounds == 3  # the fake judges score 5.0, 6.5, 8.0: the threshold is met in round 3
    assert await page.locator(".entry-improvement").count() == 2
    scores = await page.locator(".entry-round .aggregate-score").all_text_contents()
    assert scores == ["5.0", "6.5", "8.0"]
    assert await page.locator(".entry-round .verdicts tbody tr").count() >= 3
    assert await page.text_content(".final-score") == "8.0"
    chart = (await charts(page))["run-score-chart"]
    assert chart["labels"] == 3 and chart["datasets"][0]["points"] == 3
    cost = await page.text_content(".running-cost")
    assert cost and cost != "cost $0.00000"
    # The diff of successive rounds and the test-tool banner naming the fake providers.
    assert await page.locator(".diffs .diff-grid ins").count() > 0
    banner = await page.text_content("#test-banner")
    assert banner and "fake-openai" in banner and "fake-anthropic" in banner
    await screenshot(page, "dashboard-run.png")


async def test_history_search_opens_a_past_thread(page: Page, live: LiveService) -> None:
    zebra = await live.submit("Write a short poem about a zebra crossing.", max_rounds=1)
    other = await live.submit("Prove that the square root of two is irrational.", max_rounds=1)
    for thread_id in (zebra, other):
        assert (await live.wait_finished(thread_id))["status"] == "completed"

    await sign_in(page, live, "/#history")
    await page.fill("#history-q", "zebra")
    await page.click("#history-form button[type=submit]")
    await page.wait_for_function(
        "() => document.querySelector('#history-info').textContent.includes('zebra')"
    )
    rows = page.locator("#history-list tr")
    assert await rows.count() == 1
    row_text = await rows.first.text_content()
    assert row_text and "zebra" in row_text and "irrational" not in row_text

    await rows.first.click()
    await page.wait_for_selector("#history-view .final-answer")
    assert await page.text_content("#history-view .thread-id") == zebra
    # The round's line shows its answer's tokens and cost, as the live view does.
    detail = (await live.client.get(f"/api/threads/{zebra}")).json()
    answered = detail["rounds"][0]
    assert answered["cost_usd"] > answered["answer_cost_usd"] > 0, "judged: the round costs more"
    cost = answered["answer_cost_usd"]
    shown = f"${cost:.5f}" if cost < 0.01 else f"${cost:.3f}"  # dom.js fmtUsd
    meta = await page.text_content("#history-view .entry-round .meta")
    assert meta and f"· {shown} ·" in meta
    assert meta.startswith(f"{answered['input_tokens']} in / {answered['output_tokens']} out")
    assert await page.text_content("#history-view .entry-analysis .domain") == "creative"
    assert await page.locator("#history-view .entry-round .verdicts tbody tr").count() >= 1
    chart = (await charts(page))["history-score-chart"]
    assert chart["datasets"][0]["points"] == 1
    await screenshot(page, "dashboard-history.png")


async def test_analytics_page_draws_its_charts(page: Page, live: LiveService) -> None:
    thread_id = await live.submit("Compare two sorting algorithms for nearly sorted data.")
    assert (await live.wait_finished(thread_id))["status"] == "completed"

    await sign_in(page, live, "/#analytics")
    expected = ["chart-cost", "chart-quality", "chart-selection", "chart-latency", "chart-usage"]
    await page.wait_for_function(
        "ids => ids.every(id => id in window.OrchestrateX.charts())", arg=expected
    )
    drawn = await charts(page)
    for chart_id in expected:
        assert await page.locator(f"canvas#{chart_id}").count() == 1
        assert plotted(drawn[chart_id]) > 0, chart_id
    cost_models = {d["label"] for d in drawn["chart-cost"]["datasets"]}
    assert cost_models and all(m.startswith("fake-") for m in cost_models)
    assert "threads" in (await page.text_content("#analytics-figures") or "")
    await screenshot(page, "dashboard-analytics.png")


async def test_cancel_stops_a_running_orchestration(page: Page, live: LiveService) -> None:
    await sign_in(page, live)
    await page.fill("#prompt", "Summarise the causes of inflation in three bullet points.")
    await page.fill("#max-rounds", "10")
    await page.fill("#threshold", "10")
    await page.click("#submit-button")
    await page.wait_for_selector(".entry-round")
    await page.click("#cancel-button")
    await page.wait_for_selector(".run-summary .status-cancelled")
    assert await page.is_disabled("#cancel-button")
    result = await page.text_content(".final")
    assert result and "cancelled" in result
    assert await page.locator(".entry-round").count() < 10
