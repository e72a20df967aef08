"""The progress renderer, fed the events of a real run, writes the milestones to a console."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from orchestratex.cli.progress import (
    CRITIQUE_CHARS,
    MAX_SUGGESTIONS,
    ProgressRenderer,
    money,
    one_line,
    render_result,
)
from orchestratex.core.events import CompletedEvent, EvaluationEvent, Event
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.auth import ANONYMOUS
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer


async def _run_events(fake: FakeProviderServer, data: Path) -> list[Event]:
    service = Service(Settings(data_dir=data), catalog=fake_catalog(fake.openai_base_url))
    await service.start()
    try:
        feed = service.bus.subscribe()
        request = OrchestrationRequest(prompt="Compose a short poem about rain", max_rounds=2)
        thread_id = await service.submit(request, user=ANONYMOUS)
        events: list[Event] = []
        async for event in feed:
            if event.thread_id == thread_id:
                events.append(event)
                if event.type in ("completed", "failed", "cancelled"):
                    break
        return events
    finally:
        await service.stop()


async def test_renderer_shows_analysis_model_judges_and_cost(
    fake_provider: FakeProviderServer, tmp_path: Path
) -> None:
    events = await _run_events(fake_provider, tmp_path)
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    with ProgressRenderer(console) as renderer:
        for event in events:
            renderer.handle(event)
    final = events[-1]
    assert isinstance(final, CompletedEvent)
    render_result(console, final.result, notes=["a note"])
    text = out.getvalue()
    assert "Analysis  domain creative · complexity" in text
    assert f"Model     {final.result.selection.model if final.result.selection else '?'} — " in text
    assert text.count("judge fake-") == 4
    assert "round 2 score 6.5/10 · cost so far $" in text
    assert f"total cost {money(final.result.total_cost_usd)}" in text
    assert abs(renderer.state.cost_usd - final.result.total_cost_usd) < 1e-9
    assert renderer.state.fake_seen and "a note" in text

    # On a terminal, the streaming line is live and transient; the milestones stay.
    tty = io.StringIO()
    with ProgressRenderer(Console(file=tty, width=120, force_terminal=True)) as live_renderer:
        for event in events:
            live_renderer.handle(event)
    assert "are reading" in tty.getvalue() and "round 2 score" in tty.getvalue()


async def test_renderer_shows_each_judges_critique_and_suggestions(
    fake_provider: FakeProviderServer, tmp_path: Path
) -> None:
    events = await _run_events(fake_provider, tmp_path)
    verdicts = [
        v.score
        for e in events
        if isinstance(e, EvaluationEvent)
        for v in e.verdicts
        if v.score is not None
    ]
    assert verdicts and all(v.critique for v in verdicts)
    shown, hidden = io.StringIO(), io.StringIO()
    for out, critiques in ((shown, True), (hidden, False)):
        console = Console(file=out, width=1000, force_terminal=False)
        with ProgressRenderer(console, critiques=critiques) as renderer:
            for event in events:
                renderer.handle(event)
    for verdict in verdicts:
        assert one_line(verdict.critique, CRITIQUE_CHARS) in shown.getvalue()
        assert one_line(verdict.critique, CRITIQUE_CHARS) not in hidden.getvalue()
        for suggestion in verdict.suggestions[:MAX_SUGGESTIONS]:
            assert f"  - {one_line(suggestion, 160)}" in shown.getvalue()
