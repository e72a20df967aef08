"""Service rules: restart safety, per-user rate limit and budget."""

from __future__ import annotations

from sqlalchemy import update

from orchestratex.runtime.auth import create_key
from orchestratex.runtime.ratelimit import RateLimiter, RequestRateLimitedError
from orchestratex.store.tables import Thread, User
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.api.conftest import ApiFactory
from tests.waiting import status_ended


async def test_threads_left_running_are_interrupted_at_start(api_factory: ApiFactory) -> None:
    async with api_factory() as api, api.service.sessions() as session, session.begin():
        session.add(Thread(id="left-over", status="running", prompt_preview="old"))
        session.add(Thread(id="was-queued", status="queued", prompt_preview="old"))
        session.add(Thread(id="finished", status="completed", prompt_preview="old"))

    async with api_factory() as api:
        statuses = {
            tid: (await api.client.get(f"/api/orchestrate/status/{tid}")).json()["status"]
            for tid in ("left-over", "was-queued", "finished")
        }
        listed = await api.client.get("/api/threads", params={"status": "interrupted"})
        unknown = await api.client.get("/api/threads", params={"status": "done"})
    assert sorted(t["id"] for t in listed.json()["items"]) == ["left-over", "was-queued"]
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "invalid_request"
    assert statuses == {
        "left-over": "interrupted",
        "was-queued": "interrupted",
        "finished": "completed",
    }


async def test_runs_cut_by_shutdown_are_handed_back_and_resumed_at_the_next_start(
    api_factory: ApiFactory, fake: FakeProviderServer
) -> None:
    fake.options.latency_ms = 2000
    async with api_factory() as api:
        api.service.settings.shutdown_grace_s = 0.0  # suspend at once: no waiting for the run
        submitted = await api.client.post("/api/orchestrate/prompt", json={"prompt": "slow one"})
        thread_id = submitted.json()["thread_id"]
        assert api.service.is_live(thread_id)
    fake.options.latency_ms = 0
    async with api_factory() as api:
        # Resumed at once at start (not after the lease times out): it is over within the wait.
        status = await status_ended(api.client, thread_id, timeout_s=10)
        events = await api.service.store.events_after(thread_id, 0, 1000)
    assert status["status"] == "completed"
    assert status["answer"]
    assert [e.type for e in events].count("started") == 2, "suspended, then resumed"
    assert [e.type for e in events].count("cancelled") == 0


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, window_s=60.0, clock=lambda: now[0])
    limiter.hit("a")
    limiter.hit("a")
    limiter.hit("b")
    try:
        limiter.hit("a")
    except RequestRateLimitedError as exc:
        assert 59.0 <= exc.retry_after_s <= 60.0
    else:
        raise AssertionError("third request in the window was allowed")
    now[0] = 60.5
    limiter.hit("a")


async def test_rate_limit_answers_429(api_factory: ApiFactory) -> None:
    async with api_factory() as api:
        api.service.quotas.set_limits(1, None)
        first = await api.client.post(
            "/api/orchestrate/prompt", json={"prompt": "one", "max_rounds": 1}
        )
        assert first.status_code == 202
        second = await api.client.post("/api/orchestrate/prompt", json={"prompt": "two"})
        assert second.status_code == 429
        assert second.json()["error"]["code"] == "rate_limited"
        assert int(second.headers["Retry-After"]) >= 1
        await status_ended(api.client, first.json()["thread_id"])


async def test_the_request_limit_counts_orchestrations_not_passthroughs(
    api_factory: ApiFactory,
) -> None:
    """A named model on /v1 is one upstream call, paced by its provider's own limits; the
    per-user request limit is for orchestrations (`auto`, `refine`, /api/orchestrate)."""
    async with api_factory() as api:
        api.service.quotas.set_limits(1, None)
        named = {"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(3):
            reply = await api.client.post("/v1/chat/completions", json=named)
            assert reply.status_code == 200, reply.text
        auto = {**named, "model": "orchestratex/auto"}
        assert (await api.client.post("/v1/chat/completions", json=auto)).status_code == 200
        limited = await api.client.post("/v1/chat/completions", json=auto)
        assert limited.status_code == 429
        assert limited.json()["error"]["type"] == "rate_limit_error"
        prompt = await api.client.post("/api/orchestrate/prompt", json={"prompt": "x"})
        assert prompt.status_code == 429
        # The submission's flag decides, not the request's shape: a model named outside /v1
        # is an orchestration like any other.
        forced = {"prompt": "x", "model": "fake-gpt", "judge_count": 0, "max_rounds": 1}
        named_prompt = await api.client.post("/api/orchestrate/prompt", json=forced)
        assert named_prompt.status_code == 429


async def test_a_passthrough_limit_answers_429_on_v1_and_leaves_orchestrations_alone(
    api_factory: ApiFactory,
) -> None:
    """`passthrough_requests_per_minute` limits a user's named-model /v1 calls, checked at the
    same gate as the request limit: the OpenAI and Anthropic routes share one count."""
    async with api_factory() as api:
        api.service.quotas.set_limits(100, 2)
        named = {"model": "fake-gpt", "messages": [{"role": "user", "content": "hi"}]}
        assert (await api.client.post("/v1/chat/completions", json=named)).status_code == 200
        anthropic = {**named, "max_tokens": 50}
        assert (await api.client.post("/v1/messages", json=anthropic)).status_code == 200
        limited = await api.client.post("/v1/chat/completions", json=named)
        assert limited.status_code == 429
        assert limited.json()["error"]["type"] == "rate_limit_error"
        assert int(limited.headers["Retry-After"]) >= 1
        also = await api.client.post("/v1/messages", json=anthropic)
        assert also.status_code == 429
        auto = {**named, "model": "orchestratex/auto"}
        assert (await api.client.post("/v1/chat/completions", json=auto)).status_code == 200


async def test_budget_caps_runs_then_refuses(api_factory: ApiFactory) -> None:
    async with api_factory() as api:
        async with api.service.sessions() as session:
            key = await create_key(session, name="thrifty", budget_usd=0.001)
        headers = {"Authorization": f"Bearer {key.key}"}
        first = await api.client.post(
            "/api/orchestrate/prompt", json={"prompt": "hello", "max_rounds": 1}, headers=headers
        )
        assert first.status_code == 202
        thread_id = first.json()["thread_id"]
        await status_ended(api.client, thread_id, headers=headers)
        detail = (await api.client.get(f"/api/threads/{thread_id}", headers=headers)).json()
        assert 0 < detail["thread"]["total_cost_usd"] <= 0.001

        spent = await api.service.spent_usd(key.user_id)
        assert spent > 0
        async with api.service.sessions() as session, session.begin():
            await session.execute(
                update(User).where(User.id == key.user_id).values(budget_usd=spent / 2)
            )
        second = await api.client.post(
            "/api/orchestrate/prompt", json={"prompt": "again"}, headers=headers
        )
        assert second.status_code == 402
        assert second.json()["error"]["code"] == "budget_exceeded"
