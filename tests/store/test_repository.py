"""Data access: threads, detail, search, visibility, replay, interruption, users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestratex.core.events import CompletedEvent, ResponseEvent
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.store import repository as repo
from orchestratex.store.db import SessionFactory
from tests.store.factories import feed, run_events

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def _users(sessions: SessionFactory) -> tuple[str, str]:
    async with sessions() as session:
        alice, _ = await repo.create_user(session=session, name="alice")
        bob, _ = await repo.create_user(session=session, name="bob")
    return alice.id, bob.id


async def test_users_and_api_keys(sessions: SessionFactory) -> None:
    async with sessions() as session:
        admin, key = await repo.create_user(session=session, name="root", is_admin=True)
        assert key.startswith("orx_") and len(key) > 40
        assert key.startswith(admin.api_key_prefix)
        found = await repo.get_user_by_api_key(session=session, api_key=key)
        assert found is not None and found.id == admin.id and found.is_admin
        assert await repo.get_user_by_api_key(session=session, api_key=key + "x") is None
        new_key = await repo.rotate_api_key(session=session, user_id=admin.id)
        assert new_key is not None and new_key != key
        assert await repo.get_user_by_api_key(session=session, api_key=key) is None
        assert await repo.get_user_by_api_key(session=session, api_key=new_key) is not None
        assert [u.name for u in await repo.list_users(session=session)] == ["root"]


async def test_thread_detail(sessions: SessionFactory) -> None:
    alice, bob = await _users(sessions)
    await feed(
        sessions,
        run_events("t-a", start=START, scores=[6.5, 8.5], user_id=alice, failing_judge="m-z"),
    )
    async with sessions() as session:
        detail = await repo.get_thread_detail(session=session, thread_id="t-a")
        hidden = await repo.get_thread_detail(
            session=session, thread_id="t-a", user_id=bob, is_admin=False
        )
        own = await repo.get_thread_detail(
            session=session, thread_id="t-a", user_id=alice, is_admin=False
        )
    assert hidden is None and own is not None
    assert detail is not None
    assert detail.thread.status == "completed" and detail.thread.user_id == alice
    assert detail.prompt is not None and detail.prompt.startswith("Write a Python")
    assert detail.analysis is not None and detail.analysis["complexity"] == 0.3
    assert [(r.round, r.model, r.score) for r in detail.rounds] == [
        (1, "gpt-x", 6.5),
        (2, "gpt-x", 8.5),
    ]
    first = detail.rounds[0].evaluations
    assert [(e.judge, e.overall, e.error) for e in first] == [
        ("claude-y", 6.5, None),
        ("m-z", None, "timeout"),
    ]
    assert first[0].critique == "critique of round 1"
    assert first[0].suggestions == ["suggestion 1a", "suggestion 1b"]
    assert first[1].critique is None
    assert detail.decisions[0].reasons == ["best expected quality for coding", "within budget"]
    assert detail.decisions[0].threshold_round == 2
    assert [i["strategy"] for i in detail.improvements] == ["revise"]
    lines = {(c.model, c.purpose): c for c in detail.costs}
    assert lines[("claude-y", "judge")].calls == 2
    assert abs(lines[("claude-y", "judge")].cost_usd - 0.006) < 1e-12
    assert lines[("m-z", "judge")].cost_usd == 0.0


async def test_list_search_pagination_and_isolation(sessions: SessionFactory) -> None:
    alice, bob = await _users(sessions)
    prompts = ["Sort a list in Rust", "A poem about 100% rain", "Sort numbers in C"]
    for i, prompt in enumerate(prompts):
        await feed(
            sessions,
            run_events(
                f"t{i}",
                start=START + timedelta(hours=i),
                scores=[9.0],
                user_id=alice if i < 2 else bob,
                prompt=prompt,
            ),
        )
    async with sessions() as session:
        mine = await repo.list_threads(session=session, user_id=alice)
        assert [t.id for t in mine.items] == ["t1", "t0"] and mine.total == 2
        everyone = await repo.list_threads(session=session, user_id=alice, is_admin=True)
        assert [t.id for t in everyone.items] == ["t2", "t1", "t0"]
        found = await repo.list_threads(session=session, user_id=None, is_admin=True, search="SORT")
        assert {t.id for t in found.items} == {"t0", "t2"}
        percent = await repo.list_threads(session=session, user_id=alice, search="100%")
        assert [t.id for t in percent.items] == ["t1"]
        assert (await repo.list_threads(session=session, user_id=alice, search="1%0")).total == 0
        page = await repo.list_threads(
            session=session, user_id=None, is_admin=True, limit=2, offset=2
        )
        assert [t.id for t in page.items] == ["t0"] and page.total == 3
        anonymous = await repo.list_threads(session=session, user_id=None)
        assert anonymous.total == 0
        assert (
            await repo.get_thread(session=session, thread_id="t2", user_id=alice, is_admin=False)
            is None
        )


async def test_events_after_seq_for_replay(sessions: SessionFactory) -> None:
    events = run_events("t-r", start=START, scores=[6.0, 9.0])
    await feed(sessions, events)
    async with sessions() as session:
        replay = await repo.get_events_after(session=session, thread_id="t-r", after_seq=5)
        limited = await repo.get_events_after(
            session=session, thread_id="t-r", after_seq=0, limit=3
        )
    expected = [e for e in events if e.seq > 5]
    assert any(e.type == "response_chunk" for e in expected)
    assert [e.seq for e in replay] == [e.seq for e in expected]
    assert replay == expected
    assert [e.type for e in limited] == ["started", "analysis", "selection"]
    last = replay[-1]
    assert isinstance(last, CompletedEvent) and last.result.best_round == 2
    assert any(isinstance(e, ResponseEvent) and e.round == 2 for e in replay)


async def test_queued_and_running_threads_are_marked_interrupted(
    sessions: SessionFactory,
) -> None:
    async with sessions() as session:
        queued = await repo.create_thread(
            session=session, thread_id="t-q", request=OrchestrationRequest(prompt="queued one")
        )
    assert queued.status == "queued" and queued.prompt_preview == "queued one"
    events = run_events("t-run", start=START, scores=[5.0])
    await feed(sessions, events[:4])
    await feed(sessions, run_events("t-done", start=START, scores=[9.0]))
    async with sessions() as session:
        assert await repo.mark_interrupted(session=session, error="server restarted") == 2
    async with sessions() as session:
        statuses = {
            t.id: (t.status, t.error)
            for t in (await repo.list_threads(session=session, user_id=None, is_admin=True)).items
        }
    assert statuses == {
        "t-q": ("interrupted", "server restarted"),
        "t-run": ("interrupted", "server restarted"),
        "t-done": ("completed", None),
    }
