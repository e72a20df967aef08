"""Summaries of py-spy raw stacks: parsing frames, own/total time, packages and callers."""

from __future__ import annotations

from orchestratex.bench.profile_stacks import (
    GREENLET,
    NO_CALLER,
    Frame,
    caller_table,
    layer_table,
    module_of,
    package_table,
    parse_frame,
    summarise,
    top_table,
)

MAIN = "<module> (orchestratex/bench/service_proc.py:1);run_forever (asyncio/base_events.py:593)"
RAW = [
    f"{MAIN};handle (orchestratex/store/writer.py:80);flush (sqlalchemy/orm/session.py:4300) 6\n",
    f"{MAIN};handle (orchestratex/store/writer.py:80) 2\n",
    f"{MAIN};select (selectors.py:451) 1\n",
    "Session.scalar (sqlalchemy/orm/session.py:2599);execute (sqlalchemy/engine/base.py:1) 3\n",
    'process 12:"python -m x";thread (0x7f) 4\n',  # no source frame: skipped
    "garbage line\n",
]


def test_module_names() -> None:
    assert module_of("sqlalchemy/orm/session.py") == "sqlalchemy.orm.session"
    assert module_of("/x/.venv/lib/python3.11/site-packages/httpx/_client.py") == "httpx._client"
    assert module_of("/work/p/src/orchestratex/store/__init__.py") == "orchestratex.store"
    assert module_of("/usr/lib/python3.11/asyncio/events.py") == "stdlib.asyncio.events"
    assert module_of("<frozen runpy>") == "frozen runpy"


def test_parse_frame() -> None:
    frame = parse_frame("Session.flush (sqlalchemy/orm/session.py:4300)")
    assert frame == Frame("Session.flush", "sqlalchemy.orm.session")
    assert frame.package == "sqlalchemy.orm"
    assert parse_frame("thread (0x7f)") is None


def test_own_total_and_callers() -> None:
    profile = summarise(RAW)
    assert profile.samples == 12
    handle = Frame("handle", "orchestratex.store.writer")
    flush = Frame("flush", "sqlalchemy.orm.session")
    assert profile.own[flush] == 6
    assert profile.own[handle] == 2
    assert profile.total[handle] == 8
    assert profile.own_by_package["sqlalchemy.orm"] == 6
    assert profile.own_by_package["sqlalchemy.engine"] == 3
    assert profile.total_by_package["sqlalchemy.orm"] == 9
    assert profile.by_caller["orchestratex.store.writer.handle"] == 8
    assert profile.by_caller[GREENLET] == 3
    assert profile.by_caller[NO_CALLER] == 1


def test_tables_in_ms_per_request() -> None:
    profile = summarise(RAW)
    # 100 Hz and 2 requests: one sample is 5 ms of one request.
    rows = top_table(profile, ms_per_sample=5.0, top=2)
    assert rows[2] == "| sqlalchemy.orm.session | flush | 30.00 | 30.00 |"
    assert rows[3] == "| sqlalchemy.engine.base | execute | 15.00 | 15.00 |"
    assert len(rows) == 4
    packages = package_table(profile, ms_per_sample=5.0)
    assert packages[2] == "| sqlalchemy.orm | 30.00 | 45.00 | 50% |"
    callers = caller_table(profile, ms_per_sample=5.0)
    assert callers[2] == "| orchestratex.store.writer.handle | 40.00 | 67% |"
    layers = layer_table(profile, ms_per_sample=5.0)
    assert layers[2] == "| store | 55.00 | 92% |"
    assert layers[3] == "| event loop, server, HTTP (no project frame) | 5.00 | 8% |"
