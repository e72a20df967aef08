"""Replay mode: the router is trained in the background, cached, and loaded on the next start."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from orchestratex.bench.router_io import load
from orchestratex.bench.routing_bench import train_on_split
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.engine.embeddings import default_embedder
from orchestratex.providers.replay_data import STRONG_MODEL, WEAK_MODEL
from orchestratex.runtime import learned_router
from orchestratex.runtime.auth import ANONYMOUS
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from tests.router_service.helpers import first_decision
from tests.routing.helpers import DATA_DIR, needs_data
from tests.routing.test_cli import fake_data
from tests.waiting import until

READY = "learned router ready: trained on"
LOADED = "learned router loaded from"
TRAINING = "learned router: training on"
STOPPED = "learned router: training stopped"


@asynccontextmanager
async def replay_service(data_dir: Path, routellm: Path, **settings: Any) -> AsyncIterator[Service]:
    service = Service(
        Settings(mode="replay", data_dir=data_dir, routellm_data_dir=routellm, **settings), env={}
    )
    try:
        await service.start()
        yield service
    finally:
        await service.stop()


async def wait_router(service: Service, timeout_s: float = 20.0) -> None:
    if default_embedder() is not None:
        timeout_s *= 10  # the embeddings extra is installed: the model loads and embeds first
    await until(
        lambda: service.orchestrator.selector.router is not None,
        what="the router ready",
        timeout_s=timeout_s,
    )


def messages(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(start)]


async def test_trains_caches_and_reloads_on_synthetic_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchestratex.runtime.learned_router")
    routellm = fake_data(tmp_path / "routellm")
    data_dir = tmp_path / "state"
    async with replay_service(data_dir, routellm) as service:
        await wait_router(service)
        selector = service.orchestrator.selector
        assert selector.router_models == (STRONG_MODEL, WEAK_MODEL)
        assert selector.router_threshold == 0.25
    caches = sorted(data_dir.glob("router-*.json"))
    assert len(caches) == 1
    (ready,) = messages(caplog, READY)
    expected, size = train_on_split(
        routellm,
        seed=learned_router.TRAIN_SEED,
        embedder=default_embedder(),
        cache_dir=data_dir / "embeddings",
    )
    assert f"trained on {size} prompts in " in ready and str(caches[0]) in ready
    assert load(caches[0]).to_dict() == expected.to_dict()

    caplog.clear()
    async with replay_service(data_dir, routellm, router_threshold=0.6) as service:
        selector = service.orchestrator.selector
        assert selector.router is not None and selector.router_threshold == 0.6
    assert messages(caplog, LOADED) and not messages(caplog, READY)

    # New data (another mtime) means another cache file, trained afresh.
    csv = routellm / "gsm8k" / "gsm8k_responses.csv"
    later = csv.stat().st_mtime_ns + 5_000_000_000
    os.utime(csv, ns=(later, later))
    caplog.clear()
    async with replay_service(data_dir, routellm) as service:
        await wait_router(service)
    assert len(list(data_dir.glob("router-*.json"))) == 2 and messages(caplog, READY)


async def test_no_routing_data_means_weighted_selection(tmp_path: Path) -> None:
    async with replay_service(tmp_path / "state", tmp_path / "absent") as service:
        assert service.orchestrator.selector.router is None
        training = [t for t in asyncio.all_tasks() if t.get_name() == "orchestratex-router"]
        assert training == [], "nothing to train on: no training task, weighted selection"
    assert not list((tmp_path / "state").glob("router-*.json"))


async def test_stop_during_training_leaves_no_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orchestratex.runtime.learned_router")
    routellm = fake_data(tmp_path / "routellm", n=900)
    async with replay_service(tmp_path / "state", routellm) as service:
        assert service.orchestrator.selector.router is None
        await until(lambda: messages(caplog, TRAINING), what="training under way")
    # The stop returns once the training thread has ended, so nothing can write a cache later.
    assert messages(caplog, STOPPED) and not messages(caplog, READY)
    assert not list((tmp_path / "state").glob("router-*"))


@needs_data
async def test_shared_data_weighted_first_then_learned_then_cached(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(learned_router, "TRAIN_LIMIT", 500)
    caplog.set_level(logging.INFO, logger="orchestratex.runtime.learned_router")
    async with replay_service(tmp_path, DATA_DIR) as service:
        assert service.orchestrator.selector.router is None
        index = await service.replay.load()  # type: ignore[union-attr]
        request = OrchestrationRequest(prompt=index.by_id["gsm8k-0001"].text, max_rounds=1)
        first = await first_decision(service, await service.submit(request, user=ANONYMOUS))
        await wait_router(service)
        second = await first_decision(service, await service.submit(request, user=ANONYMOUS))
    assert first.strategy == "weighted"
    assert second.strategy == "learned" and second.model in (STRONG_MODEL, WEAK_MODEL)
    assert any("threshold 0.25" in r for r in second.reasons), second.reasons
    assert messages(caplog, READY)

    caplog.clear()
    async with replay_service(tmp_path, DATA_DIR) as service:
        assert service.orchestrator.selector.router is not None
    assert messages(caplog, LOADED) and not messages(caplog, READY)
