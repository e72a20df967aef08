"""Analytics figures on a small known data set, for everyone and per user."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestratex.core.types import Domain
from orchestratex.store import analytics
from orchestratex.store import repository as repo
from orchestratex.store.db import SessionFactory
from tests.store.factories import fallback_events, feed, passthrough_events, run_events

MON = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TUE = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
NEXT_MON = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


async def _data_set(sessions: SessionFactory) -> tuple[str, str]:
    """A: alice, coding, gpt-x kept, threshold at round 2, one failed judge call.
    B: bob, math, claude-y answers alone and meets the threshold at once.
    C: alice, coding, escalates to big-w in round 2, never meets the threshold."""
    async with sessions() as session:
        alice = (await repo.create_user(session=session, name="alice"))[0].id
        bob = (await repo.create_user(session=session, name="bob"))[0].id
    await feed(
        sessions,
        run_events("A", start=MON, scores=[6.5, 8.5], user_id=alice, failing_judge="mistral-z"),
    )
    await feed(
        sessions,
        run_events(
            "B",
            start=TUE,
            scores=[9.0],
            user_id=bob,
            answer_model="claude-y",
            judge="gpt-x",
            domain=Domain.MATH,
        ),
    )
    await feed(
        sessions,
        run_events("C", start=NEXT_MON, scores=[5.0, 6.0], user_id=alice, escalate_to="big-w"),
    )
    return alice, bob


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def test_costs_by_model_and_bucket(sessions: SessionFactory) -> None:
    alice, _ = await _data_set(sessions)
    async with sessions() as session:
        report = await analytics.costs(session=session)
        weekly = await analytics.costs(session=session, bucket="week")
        hourly = await analytics.costs(session=session, bucket="hour", user_id=alice)
        mine = await analytics.costs(session=session, user_id=alice)
        window = await analytics.costs(
            session=session, since=_utc(2026, 3, 3), until=_utc(2026, 3, 4)
        )
    by_model = {m.model: (m.calls, m.cost_usd) for m in report.by_model}
    assert by_model == {
        "big-w": (1, pytest.approx(0.002)),
        "claude-y": (5, pytest.approx(0.014)),
        "gpt-x": (4, pytest.approx(0.009)),
        "mistral-z": (1, 0.0),
    }
    assert report.total_cost_usd == pytest.approx(0.025)
    assert [(b.start, b.calls, round(b.cost_usd, 9)) for b in report.by_bucket] == [
        (_utc(2026, 3, 2), 5, 0.01),
        (_utc(2026, 3, 3), 2, 0.005),
        (_utc(2026, 3, 9), 4, 0.01),
    ]
    assert [(b.start, b.calls) for b in weekly.by_bucket] == [
        (_utc(2026, 3, 2), 7),
        (_utc(2026, 3, 9), 4),
    ]
    assert [(b.start, b.calls) for b in hourly.by_bucket] == [
        (_utc(2026, 3, 2, 10), 5),
        (_utc(2026, 3, 9, 12), 4),
    ]
    assert {m.model: m.calls for m in mine.by_model} == {
        "big-w": 1,
        "claude-y": 4,
        "gpt-x": 3,
        "mistral-z": 1,
    }
    assert mine.total_cost_usd == pytest.approx(0.02)
    assert [(m.model, m.calls) for m in window.by_model] == [("claude-y", 1), ("gpt-x", 1)]


async def test_selection_accuracy(sessions: SessionFactory) -> None:
    alice, bob = await _data_set(sessions)
    async with sessions() as session:
        everyone = await analytics.selection_accuracy(session=session)
        mine = await analytics.selection_accuracy(session=session, user_id=alice)
        theirs = await analytics.selection_accuracy(session=session, user_id=bob)
    assert (everyone.decisions, everyone.kept_without_escalation) == (3, 2)
    assert everyone.share_kept == pytest.approx(2 / 3)
    assert everyone.threshold_rounds == {"1": 1, "2": 1, "never": 1}
    assert (mine.decisions, mine.share_kept) == (2, 0.5)
    assert mine.threshold_rounds == {"2": 1, "never": 1}
    assert theirs.threshold_rounds == {"1": 1}


async def test_a_failed_or_replaced_choice_is_not_kept(sessions: SessionFactory) -> None:
    """F: the chosen model fails and a fallback answers; G: the fallback fails too and the run
    fails. Only F's fallback was kept; the figure spreads the two runs, not four decisions."""
    await feed(sessions, fallback_events("F", start=MON))
    await feed(sessions, fallback_events("G", start=TUE, failed=True))
    # Requests that named their model: no selection was made, so none is counted.
    await feed(sessions, passthrough_events("N1", start=TUE))
    await feed(sessions, passthrough_events("N2", start=TUE, failed=True))
    async with sessions() as session:
        report = await analytics.selection_accuracy(session=session)
        decisions = {
            t: [(d.model, d.kept_without_escalation) for d in detail.decisions]
            for t in ("F", "G")
            if (detail := await repo.get_thread_detail(session=session, thread_id=t))
        }
    assert decisions == {
        "F": [("bad-m", False), ("gpt-x", True)],
        "G": [("bad-m", False), ("gpt-x", False)],
    }
    assert (report.decisions, report.kept_without_escalation) == (4, 1)
    assert report.share_kept == 0.25
    assert report.threshold_rounds == {"never": 2}


async def test_usage(sessions: SessionFactory) -> None:
    alice, bob = await _data_set(sessions)
    async with sessions() as session:
        report = await analytics.usage(session=session)
        theirs = await analytics.usage(session=session, user_id=bob)
    assert (report.threads, report.threads_by_status) == (3, {"completed": 3})
    assert (report.calls, report.successful_calls) == (11, 10)
    assert report.success_rate == pytest.approx(10 / 11)
    assert (report.input_tokens, report.output_tokens) == (2000, 650)
    assert report.mean_latency_ms == pytest.approx(37000 / 11)
    assert report.p50_latency_ms == 800.0
    assert (theirs.threads, theirs.calls, theirs.input_tokens) == (1, 2, 400)
    assert theirs.p50_latency_ms == 600.0


async def test_models_and_dashboard(sessions: SessionFactory) -> None:
    alice, _ = await _data_set(sessions)
    async with sessions() as session:
        rows = await analytics.models(session=session)
        board = await analytics.dashboard(session=session, user_id=alice)
    table = {(r.model, r.domain): r for r in rows}
    assert set(table) == {
        ("big-w", "coding"),
        ("claude-y", "coding"),
        ("claude-y", "math"),
        ("gpt-x", "coding"),
        ("gpt-x", "math"),
        ("mistral-z", "coding"),
    }
    gpt = table[("gpt-x", "coding")]
    assert (gpt.rounds, gpt.calls, gpt.success_rate) == (3, 3, 1.0)
    assert gpt.mean_score == pytest.approx(20 / 3)
    assert gpt.mean_latency_ms == pytest.approx(800.0)
    assert table[("mistral-z", "coding")].success_rate == 0.0
    assert table[("mistral-z", "coding")].mean_score is None
    assert table[("claude-y", "math")].mean_score == pytest.approx(9.0)
    assert {(r.model, r.domain) for r in board.models} == {
        ("big-w", "coding"),
        ("claude-y", "coding"),
        ("gpt-x", "coding"),
        ("mistral-z", "coding"),
    }
    assert board.usage.threads == 2 and board.selection.decisions == 2
    assert board.costs.total_cost_usd == pytest.approx(0.02)


async def test_calls_their_caller_stopped_count_for_no_model(sessions: SessionFactory) -> None:
    await feed(
        sessions,
        run_events("D", start=MON, scores=[7.0], failing_judge="slow-j", cancelled_judge="gpt-x"),
    )
    async with sessions() as session:
        rows = {(r.model, r.domain): r for r in await analytics.models(session=session)}
        report = await analytics.usage(session=session)
    gpt = rows[("gpt-x", "coding")]
    assert gpt.calls == 2 and gpt.success_rate == 1.0  # its answer, and a judge call stopped
    assert rows[("slow-j", "coding")].success_rate == 0.0
    assert (report.calls, report.successful_calls) == (4, 2)
    assert report.success_rate == pytest.approx(2 / 3)  # the stopped call is left out
