"""The service in replay mode: chosen with no keys, the demo prompt routes, a run over the API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from orchestratex.api.app import create_app
from orchestratex.providers.replay_data import RECORDED_JUDGE, STRONG_MODEL, WEAK_MODEL
from orchestratex.runtime.auth import create_key
from orchestratex.runtime.replay_mode import resolve_mode
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import ProviderOverride, Settings
from orchestratex.testing.fake_catalog import fake_catalog
from tests.waiting import status_ended


@asynccontextmanager
async def open_app(
    settings: Settings, env: Mapping[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    app = create_app(settings, env=env)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client, app.state.service


def test_auto_mode_is_replay_only_without_keys_and_config(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path)
    assert resolve_mode(plain, {}) == "replay"
    assert resolve_mode(plain, {"OPENAI_API_KEY": "  "}) == "replay"
    assert resolve_mode(plain, {"OPENAI_API_KEY": "sk-test"}) == "live"
    assert resolve_mode(plain, {"GROQ_API_KEY": "k"}) == "live"
    assert resolve_mode(plain, {}, catalog_given=True) == "live"
    local = Settings(
        data_dir=tmp_path,
        providers={"ollama": ProviderOverride(base_url="http://127.0.0.1:11434/v1")},
    )
    assert resolve_mode(local, {}) == "live"
    assert resolve_mode(Settings(data_dir=tmp_path, mode="replay"), {"XAI_API_KEY": "k"}) == (
        "replay"
    )
    assert resolve_mode(Settings(data_dir=tmp_path, mode="live"), {}) == "live"


async def test_replay_service_lists_prompts_and_completes_a_run(
    tmp_path: Path, data_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path, routellm_data_dir=data_dir)
    async with open_app(settings, env={}) as (client, service):
        health = (await client.get("/healthz")).json()
        assert health["mode"] == "replay"
        assert set(service.catalog.models) == {STRONG_MODEL, WEAK_MODEL, RECORDED_JUDGE}

        page = (await client.get("/api/demo/prompts", params={"limit": 5})).json()
        assert page["total"] == 1399 and len(page["items"]) == 5
        mt = (await client.get("/api/demo/prompts", params={"source": "mt_bench"})).json()
        assert mt["items"] and {i["source"] for i in mt["items"]} == {"mt_bench"}
        found = (await client.get("/api/demo/prompts", params={"q": "Janet’s ducks"})).json()
        assert found["items"][0]["id"] == "gsm8k-0001"
        detail = (await client.get("/api/demo/prompts/gsm8k-0001")).json()
        assert detail["text"].startswith("Janet’s ducks lay 16 eggs per day.")
        missing = await client.get("/api/demo/prompts/gsm8k-9999")
        assert missing.status_code == 404

        refused = await client.post("/api/orchestrate/prompt", json={"prompt": "Tell me a joke"})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "not_recorded"

        prefill = [
            {"role": "user", "content": detail["text"]},
            {"role": "assistant", "content": "The answer is"},
        ]
        begun = await client.post(
            "/v1/messages", json={"model": STRONG_MODEL, "max_tokens": 50, "messages": prefill}
        )
        assert begun.status_code == 422
        assert "cannot continue an answer begun" in begun.json()["error"]["message"]

        submitted = await client.post(
            "/api/orchestrate/prompt", json={"prompt": detail["text"], "max_rounds": 2}
        )
        assert submitted.status_code == 202, submitted.text
        body = await status_ended(client, submitted.json()["thread_id"], timeout_s=20)
        assert body["status"] == "completed", body
        assert body["answer"] in {
            (await service.replay.load()).by_id["gsm8k-0001"].answers[m]  # type: ignore[union-attr]
            for m in (STRONG_MODEL, WEAK_MODEL)
        }
        assert body["score"] == 9.0


async def test_replay_run_whose_allowed_models_exclude_the_recorded_judge_is_unjudged(
    tmp_path: Path, data_dir: Path
) -> None:
    """The recorded judge is replay's only judge; a request that does not allow it gets its
    answer unjudged, and the judge is never called (the gate would refuse it)."""
    settings = Settings(data_dir=tmp_path, routellm_data_dir=data_dir)
    async with open_app(settings, env={}) as (client, service):
        text = (await client.get("/api/demo/prompts/gsm8k-0001")).json()["text"]
        submitted = await client.post(
            "/api/orchestrate/prompt",
            json={"prompt": text, "preferences": {"allowed_models": [WEAK_MODEL]}},
        )
        assert submitted.status_code == 202, submitted.text
        thread_id = submitted.json()["thread_id"]
        body = await status_ended(client, thread_id, timeout_s=20)
        assert body["status"] == "completed", body
        detail = (await client.get(f"/api/threads/{thread_id}")).json()
        assert detail["thread"]["stop_reason"] == "unjudged"
        assert {c["model"] for c in detail["costs"]} == {WEAK_MODEL}


async def test_a_budget_holds_in_replay_mode_the_recorded_answer_is_cut(
    tmp_path: Path, data_dir: Path
) -> None:
    """A recorded answer dearer than what the key has left is cut at the shrunk max_tokens, as a
    provider would cut it, rather than billed whole past the budget."""
    settings = Settings(data_dir=tmp_path, routellm_data_dir=data_dir)
    async with open_app(settings, env={}) as (client, service):
        async with service.sessions() as session:
            key = await create_key(session, name="thrifty", budget_usd=0.002)
        headers = {"Authorization": f"Bearer {key.key}"}
        text = (await client.get("/api/demo/prompts/mt_bench-81", headers=headers)).json()["text"]
        body = {"model": STRONG_MODEL, "messages": [{"role": "user", "content": text}]}
        reply = await client.post("/v1/chat/completions", json=body, headers=headers)
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["finish_reason"] == "length"
        assert 0 < await service.spent_usd(key.user_id) <= 0.002
        again = await client.post("/v1/chat/completions", json=body, headers=headers)
        assert again.status_code == 402
        assert await service.spent_usd(key.user_id) <= 0.002


async def test_replay_without_recordings_starts_and_says_where_it_looked(tmp_path: Path) -> None:
    absent = tmp_path / "no-routellm"
    settings = Settings(data_dir=tmp_path, routellm_data_dir=absent, mode="replay")
    async with open_app(settings, env={}) as (client, _service):
        assert (await client.get("/healthz")).json()["mode"] == "replay"
        response = await client.get("/api/demo/prompts")
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "recordings_not_found" and str(absent) in error["message"]


async def test_live_mode_has_no_demo_prompts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, catalog=fake_catalog("http://127.0.0.1:9/v1"), env={})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/healthz")).json()["mode"] == "live"
            response = await client.get("/api/demo/prompts")
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_replay_mode"


async def test_explicit_replay_mode_wins_over_keys(tmp_path: Path) -> None:
    service = Service(Settings(data_dir=tmp_path, mode="replay"), env={"OPENAI_API_KEY": "sk-x"})
    assert service.mode == "replay"
    assert service.catalog.provider_for(STRONG_MODEL).protocol == "replay"
    await service.store.aclose()
