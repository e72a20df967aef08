"""The offline demo in the dashboard: a real service in replay mode over the RouteLLM recordings.

Skipped only when the shared recordings are absent (../shared/data/routellm from the repo root).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from orchestratex.api.app import create_app
from orchestratex.runtime.replay_mode import ReplayIndex
from orchestratex.runtime.settings import Settings
from tests.browser.conftest import LiveService, dashboard_page, screenshot, served, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

REPO_ROOT = Path(__file__).resolve().parents[2]
ROUTELLM = (REPO_ROOT / ".." / "shared" / "data" / "routellm").resolve()
BANNER = (
    "Offline demo: answers are real recorded answers of GPT-4-1106 and Mixtral-8x7B "
    "(RouteLLM data), replayed — no model is called."
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def replay(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveService]:
    """The service in replay mode in a real uvicorn on loopback, with API keys required."""
    if not ROUTELLM.is_dir():
        pytest.skip(f"the RouteLLM recordings are not in {ROUTELLM}")
    settings = Settings(
        mode="replay", data_dir=tmp_path_factory.mktemp("replay-data"), routellm_data_dir=ROUTELLM
    )
    async with served(create_app(settings, env={}), "replay-admin") as live:
        yield live


@pytest_asyncio.fixture(loop_scope="module")
async def replay_page(browser: Browser, replay: LiveService) -> AsyncIterator[Page]:
    """A fresh browser context on the replay-mode dashboard; page errors fail the test."""
    async with dashboard_page(browser) as opened:
        yield opened


async def recordings(replay: LiveService) -> ReplayIndex:
    data = replay.service.replay
    assert data is not None
    return await data.load()


async def test_pick_a_recorded_gsm8k_prompt_and_replay_it(
    replay_page: Page, replay: LiveService
) -> None:
    page = replay_page
    await sign_in(page, replay)
    assert await page.is_visible("#demo-banner")
    banner = " ".join((await page.text_content("#demo-banner") or "").split())
    assert banner == BANNER
    assert await page.is_hidden("#test-banner")

    # The picker: all sources first, then GSM8K searched for the ducks.
    await page.wait_for_selector("#demo-list .demo-item")
    assert "1399 recorded prompts" in (await page.text_content("#demo-info") or "")
    await page.select_option("#demo-source", "gsm8k")
    await page.fill("#demo-q", "ducks lay 16")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#demo-list .demo-id')]"
        ".map(e => e.textContent).join() === 'gsm8k-0001'"
    )
    await page.click("#demo-list .demo-item[data-id='gsm8k-0001']")
    recorded = (await recordings(replay)).by_id["gsm8k-0001"]
    await page.wait_for_function(
        "text => document.querySelector('#prompt').value === text", arg=recorded.text
    )
    assert "gsm8k-0001" in (await page.text_content("#demo-picked") or "")

    await page.fill("#max-rounds", "2")
    await page.click("#submit-button")
    await page.wait_for_selector(".final .final-answer", timeout=20_000)
    assert await page.text_content(".run-summary .status") == "completed"
    assert await page.text_content(".final-score") == "9.0"
    model = (await page.text_content(".entry-selection .selected-model") or "").split()[0]
    assert model in recorded.answers
    shown = " ".join((await page.text_content(".final-answer") or "").split())
    assert recorded.answers[model].splitlines()[0] in shown
    critique = await page.text_content(".entry-round .verdicts")
    assert critique and "recorded-judge" in critique

    thread_id = await page.text_content(".run-summary .thread-id")
    assert thread_id
    status = await replay.wait_finished(thread_id)
    assert status["answer"] == recorded.answers[model] and status["score"] == 9.0
    await screenshot(page, "dashboard-replay.png")


async def test_an_unrecorded_prompt_says_to_pick_a_recorded_one(
    replay_page: Page, replay: LiveService
) -> None:
    page = replay_page
    await sign_in(page, replay)
    await page.fill("#prompt", "Tell me a joke about load balancers.")
    await page.click("#submit-button")
    await page.wait_for_selector("#error.not-recorded")
    message = await page.text_content("#error")
    assert message and "Not a recorded prompt" in message
    assert "pick one from the recorded prompts list" in message
    assert await page.locator(".final .final-answer").count() == 0
    await screenshot(page, "dashboard-replay-not-recorded.png")


async def test_live_mode_shows_no_demo(page: Page, live: LiveService) -> None:
    await sign_in(page, live)
    await page.wait_for_selector("#allowed-models option")
    assert await page.is_hidden("#demo-banner")
    assert await page.is_hidden("#demo-picker")


async def test_the_recorded_judge_is_not_offered_as_an_answering_model(
    replay_page: Page, replay: LiveService
) -> None:
    page = replay_page
    await sign_in(page, replay)
    await page.wait_for_selector("#allowed-models option")
    offered = await page.eval_on_selector_all(
        "#allowed-models option", "options => options.map(o => o.value)"
    )
    assert sorted(offered) == ["gpt-4-1106-preview", "mixtral-8x7b-instruct-v0.1"]


async def test_the_picked_line_goes_once_the_prompt_is_edited(
    replay_page: Page, replay: LiveService
) -> None:
    page = replay_page
    await sign_in(page, replay)
    await page.wait_for_selector("#demo-list .demo-item")
    await page.click("#demo-list .demo-item >> nth=0")
    await page.wait_for_function(
        "() => document.querySelector('#demo-picked').textContent.startsWith('prompt box filled')"
    )
    await page.press("#prompt", "End")
    await page.keyboard.type(" And explain.")
    await page.wait_for_function("() => document.querySelector('#demo-picked').textContent === ''")
    assert await page.locator("#demo-list .demo-item.selected").count() == 0


async def test_the_picker_search_button_fits_420px(browser: Browser, replay: LiveService) -> None:
    context = await browser.new_context(viewport={"width": 420, "height": 800})
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        await sign_in(page, replay)
        button = page.locator("#demo-form button[type=submit]")
        await page.wait_for_selector("#demo-list .demo-item")
        box = await button.bounding_box()
        width = await page.evaluate("() => document.documentElement.clientWidth")
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        await screenshot(page, "dashboard-replay-420.png")
    finally:
        await context.close()
