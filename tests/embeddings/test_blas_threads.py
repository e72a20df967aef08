"""Embedding holds numpy's BLAS to one thread, and gives the setting back after the last one."""

from __future__ import annotations

import pytest
from threadpoolctl import ThreadpoolController

from orchestratex.engine.embeddings import OneBlasThread


def blas_threads() -> int:
    return int(ThreadpoolController().select(user_api="blas").info()[0]["num_threads"])


def test_one_thread_while_any_holder_runs_then_the_original() -> None:
    """Holders overlap (as embeddings in several threads do); the count is kept, and the limit
    given back only when the last leaves. Checked from one thread: what OpenBLAS reports for a
    limit set in another thread depends on its build (thread-local settings since 0.3.27)."""
    original = blas_threads()
    if original == 1:
        pytest.skip("BLAS already runs on one thread here: nothing to tell apart")
    guard = OneBlasThread()
    outer = guard.held()
    outer.__enter__()
    with guard.held():
        assert blas_threads() == 1
    assert blas_threads() == 1, "the outer holder still runs"
    outer.__exit__(None, None, None)
    assert blas_threads() == original
