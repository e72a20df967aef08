"""One `orchestratex serve` without Redis, killed with SIGKILL mid-run, then started again."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestratex.store.db import create_engine, init_db
from tests.scaleout.conftest import Processes, run_sync, service_env
from tests.scaleout.helpers import (
    answers,
    event_types,
    submit_long_run,
    unfinished,
    wait_ended,
    wait_judged,
)
from tests.servers import free_port


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await init_db(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path / 'orx.db'}"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
async def test_a_stopped_service_resumes_its_run_at_restart(
    fake_port: int, tmp_path: Path, sqlite_url: str, sig: signal.Signals
) -> None:
    """kill -9 leaves the run to be resumed at the next start (the service keeps its runner id);
    SIGTERM lets it finish within the grace or hands it back. Either way the run completes with
    its first round kept."""
    run_sync(_migrate(sqlite_url))
    env = service_env(tmp_path, fake_port, sqlite_url)
    procs = Processes(tmp_path, env)
    port = free_port()
    engine: AsyncEngine = create_engine(sqlite_url)
    try:
        base = procs.serve(port=port)
        async with httpx.AsyncClient(timeout=10) as client:
            thread_id = await submit_long_run(
                client, base, {}, "Summarise the causes of inflation."
            )
        await wait_judged(engine, thread_id)
        procs.running[0].send_signal(sig)
        procs.running[0].wait(timeout=30)
        before = await answers(engine, thread_id)
        procs.serve(port=port)
        status = await wait_ended(engine, thread_id, 60)
        after = await answers(engine, thread_id)
        events = await event_types(engine, thread_id)
        left = await unfinished(engine)
    finally:
        procs.stop_all()
        await engine.dispose()
    assert status == "completed"
    assert after[1] == before[1]
    assert sorted(after) == [1, 2, 3]
    starts = [seq for seq, kind, _round in events if kind == "started"]
    # SIGTERM may let the run finish within its grace (one start); a hard kill never does.
    assert len(starts) == 2 if sig == signal.SIGKILL else len(starts) in (1, 2)
    if len(starts) == 2:
        resumed = [r for s, k, r in events if s > starts[1] and k == "response"]
        assert resumed and resumed[0] is not None and resumed[0] >= 2
        if sig == signal.SIGKILL:
            assert resumed[0] == 2
    assert [s for s, _k, _r in events] == list(range(1, len(events) + 1))
    assert left == 0
