"""Retraining the learned quality model on a schedule: in the background, in another process,
persisted to the store and to data_dir, one trainer among instances sharing a database, its
state in /healthz. Waits are conditions with a deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from orchestratex.api.app import create_app
from orchestratex.core.orchestration import Preferences
from orchestratex.engine.analysis import analyze
from orchestratex.engine.learned_quality import HistoryRow
from orchestratex.runtime.quality_model import (
    load_quality_model,
    quality_model_path,
    train_quality_model,
)
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import Settings
from orchestratex.store.db import SessionFactory
from orchestratex.store.learned_models import stored_version
from orchestratex.store.tables import LearnedModel, Prompt, Response, Thread
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.routing.test_cli import EASY, HARD
from tests.waiting import until

FAST: dict[str, Any] = {"retrain_interval_s": 0.2, "retrain_min_new": 10}


def history(n: int, start: int = 0) -> list[HistoryRow]:
    """fake-gpt is judged 9 on proofs, 6 on greetings; fake-llama 3 on proofs, 8 on greetings."""
    rows = []
    for i in range(start, start + n):
        hard = i % 2 == 0
        prompt = (HARD if hard else EASY).format(i=i, r=i / 100)
        rows.append(HistoryRow(prompt, "fake-gpt", 9.0 if hard else 6.0))
        rows.append(HistoryRow(prompt, "fake-llama", 3.0 if hard else 8.0))
    return rows


async def add_judged(sessions: SessionFactory, rows: list[HistoryRow], tag: str) -> None:
    async with sessions() as session:
        ids = [f"{tag}{i}" for i in range(len(rows))]
        session.add_all([Thread(id=t, status="completed") for t in ids])
        await session.flush()
        for tid, row in zip(ids, rows, strict=True):
            session.add(Prompt(thread_id=tid, text=row.prompt))
            session.add(
                Response(
                    thread_id=tid,
                    round=1,
                    model=row.model,
                    kind="initial",
                    text="x",
                    score=row.score,
                )
            )
        await session.commit()


@asynccontextmanager
async def running(
    data_dir: Path, server: FakeProviderServer, *, database_url: str | None = None, **settings: Any
) -> AsyncIterator[Service]:
    catalog = fake_catalog(server.openai_base_url)
    service = Service(
        Settings(data_dir=data_dir, database_url=database_url, **settings), catalog=catalog
    )
    try:
        await service.start()
        yield service
    finally:
        await service.stop()


def learned_models(service: Service) -> dict[str, int]:
    model = service.orchestrator.selector.quality_model
    return {} if model is None else dict(getattr(model, "models", {}))


async def test_scheduled_retraining_trains_persists_and_selects_with_it(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    async with running(tmp_path, fake_provider, **FAST) as service:
        retrainer = service.retrainer
        assert retrainer is not None and service.orchestrator.selector.quality_model is None
        await add_judged(service.sessions, history(30), "a")
        await until(
            lambda: retrainer.status.trainings >= 1, what="a first training", timeout_s=60.0
        )
        assert retrainer.status.role == "trainer" and retrainer.status.judged_answers == 60
        assert learned_models(service) == {"fake-gpt": 30, "fake-llama": 30}
        text = HARD.format(i=501, r=0.5)
        decision = service.orchestrator.selector.select(
            analyze(text),
            Preferences(allowed_models=["fake-gpt", "fake-llama"]),
            prompt=text,
        )
        assert any("learned from judged history" in r for r in decision.reasons)
        saved = load_quality_model(quality_model_path(tmp_path))
        assert saved is not None and saved.models == {"fake-gpt": 30, "fake-llama": 30}
        version = await stored_version(service.sessions, "quality")
        assert version is not None and version.judged_answers == 60
        assert version.trained_by == service.instance_id

        app = create_app(service.settings)
        app.state.service = service
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            health = (await client.get("/healthz")).json()["learned_quality"]
        assert health["enabled"] is True and health["role"] == "trainer"
        assert health["judged_answers"] == 60 and health["models"] == 2
        assert health["trainings"] >= 1 and health["last_error"] is None

        # under retrain_min_new new judged answers: no training, whatever the interval
        await add_judged(service.sessions, history(4, start=100), "b")
        before = retrainer.status.trainings
        await retrainer.tick()
        assert retrainer.status.trainings == before and retrainer.status.new_judged == 8
        await add_judged(service.sessions, history(2, start=200), "c")
        await until(
            lambda: retrainer.status.trainings > before, what="another training", timeout_s=60.0
        )
        assert retrainer.status.judged_answers == 72
    async with service.sessions() as session:
        row = await session.get(LearnedModel, "quality")
    assert row is not None and row.trainer_id is None  # the lease was given up at the stop


async def test_one_trainer_among_instances_sharing_a_database(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    url = f"sqlite+aiosqlite:///{(tmp_path / 'shared.db').as_posix()}"
    async with AsyncExitStack() as stack:
        services = [
            await stack.enter_async_context(
                running(tmp_path / name, fake_provider, database_url=url, instance_id=name, **FAST)
            )
            for name in ("one", "two")
        ]
        await add_judged(services[0].sessions, history(30), "a")
        statuses = [s.retrainer.status for s in services if s.retrainer is not None]
        await until(
            lambda: all(st.judged_answers == 60 for st in statuses),
            what="60 judged answers seen by every instance",
            timeout_s=60.0,
        )
        await add_judged(services[0].sessions, history(10, start=100), "b")
        await until(
            lambda: all(st.judged_answers == 80 for st in statuses),
            what="80 judged answers seen by every instance",
            timeout_s=60.0,
        )
        roles = sorted(st.role for st in statuses)
        assert roles == ["follower", "trainer"]
        trainer = next(st for st in statuses if st.role == "trainer")
        follower = next(st for st in statuses if st.role == "follower")
        assert trainer.trainings == 2 and follower.trainings == 0
        assert follower.trained_at == trainer.trained_at
        assert all(learned_models(s) == {"fake-gpt": 40, "fake-llama": 40} for s in services)


async def test_router_train_command_reaches_a_running_service(
    tmp_path: Path, fake_provider: FakeProviderServer
) -> None:
    async with running(
        tmp_path, fake_provider, retrain_interval_s=0.2, retrain_min_new=100_000
    ) as service:
        await add_judged(service.sessions, history(25), "a")
        model, seen = await train_quality_model(
            service.store, tmp_path / "cli-model.json", min_history=20
        )
        assert seen == 50 and model.models == {"fake-gpt": 25, "fake-llama": 25}
        await until(
            lambda: learned_models(service) == {"fake-gpt": 25, "fake-llama": 25},
            what="the learned models stored",
            timeout_s=60.0,
        )
        assert service.retrainer is not None and service.retrainer.status.trainings == 0


async def test_retraining_off(tmp_path: Path, fake_provider: FakeProviderServer) -> None:
    async with running(tmp_path, fake_provider, retrain_interval_s=0) as service:
        assert service.retrainer is None
        app = create_app(service.settings)
        app.state.service = service
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/healthz")).json()["learned_quality"] == {"enabled": False}
