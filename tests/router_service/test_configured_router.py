"""A router file in the settings: the running service selects with it (strategy "learned")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orchestratex.core.errors import ConfigurationError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.runtime.auth import ANONYMOUS
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.router_service.helpers import first_decision, integral_router

PAIR = ("fake-gpt", "fake-llama")


@asynccontextmanager
async def running(
    tmp_path: Path, server: FakeProviderServer, **settings: Any
) -> AsyncIterator[Service]:
    catalog = fake_catalog(server.openai_base_url)
    service = Service(Settings(data_dir=tmp_path, **settings), catalog=catalog)
    try:
        await service.start()
        yield service
    finally:
        await service.stop()


async def test_router_file_picks_strong_or_weak_per_prompt(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    path = tmp_path / "router.json"
    router = integral_router(path)
    hard = "Compute the integral of x squared from 0 to 3, please."
    easy = "hello, how are you today?"
    assert router.strong_score(hard) >= 0.5 > router.strong_score(easy)
    async with running(
        tmp_path, fake_provider, router_path=path, router_models=PAIR, router_threshold=0.5
    ) as service:
        assert service.orchestrator.selector.router is not None
        picks = {}
        for prompt in (hard, easy):
            request = OrchestrationRequest(prompt=prompt, max_rounds=1, judge_count=1)
            thread_id = await service.submit(request, user=ANONYMOUS)
            picks[prompt] = await first_decision(service, thread_id)
    strong, weak = picks[hard], picks[easy]
    assert (strong.model, strong.strategy) == ("fake-gpt", "learned")
    assert (weak.model, weak.strategy) == ("fake-llama", "learned")
    assert any(
        f"router strong score {router.strong_score(hard):.3f} >= threshold 0.50" in r
        for r in strong.reasons
    ), strong.reasons
    assert any("router strong score" in r and "< threshold 0.50" in r for r in weak.reasons)


async def test_threshold_one_sends_everything_weak(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    path = tmp_path / "router.json"
    integral_router(path)
    async with running(
        tmp_path, fake_provider, router_path=path, router_models=PAIR, router_threshold=1.0
    ) as service:
        request = OrchestrationRequest(prompt="the integral of sin x", max_rounds=1, judge_count=1)
        decision = await first_decision(service, await service.submit(request, user=ANONYMOUS))
    assert (decision.model, decision.strategy) == ("fake-llama", "learned")


async def test_unusable_router_settings_fail_at_start(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    path = tmp_path / "router.json"
    integral_router(path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"router_path": tmp_path / "missing.json", "router_models": PAIR}, "unusable"),
        ({"router_path": bad, "router_models": PAIR}, "not a learned router"),
        ({"router_path": path}, "needs router_models"),
        ({"router_path": path, "router_models": ("fake-gpt", "nope")}, "nope"),
    ]
    for settings, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            async with running(tmp_path, fake_provider, **settings):
                pass


async def test_without_router_path_selection_stays_weighted(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    async with running(tmp_path, fake_provider, router_models=PAIR) as service:
        assert service.orchestrator.selector.router is None
        request = OrchestrationRequest(prompt="the integral of sin x", max_rounds=1, judge_count=1)
        decision = await first_decision(service, await service.submit(request, user=ANONYMOUS))
    assert decision.strategy != "learned"


def test_router_settings_are_validated(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).router_threshold == 0.25
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, router_threshold=1.5)
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, router_models=("fake-gpt", "fake-gpt"))
    env = {"ORX_ROUTER_MODELS": '["fake-gpt", "fake-llama"]', "ORX_ROUTER_THRESHOLD": "0.7"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        loaded = Settings(data_dir=tmp_path)
    assert loaded.router_models == PAIR and loaded.router_threshold == 0.7
