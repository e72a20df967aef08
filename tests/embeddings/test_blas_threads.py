"""Embedding holds numpy's BLAS to one thread, and gives the setting back after the last one."""

from __future__ import annotations

import threading

import pytest
from threadpoolctl import ThreadpoolController

from orchestratex.engine.embeddings import OneBlasThread


def blas_threads() -> int:
    return int(ThreadpoolController().select(user_api="blas").info()[0]["num_threads"])


def test_one_thread_while_any_holder_runs_then_the_original() -> None:
    original = blas_threads()
    if original == 1:
        pytest.skip("BLAS already runs on one thread here: nothing to tell apart")
    guard = OneBlasThread()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[int] = []

    def first() -> None:
        with guard.held():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    worker = threading.Thread(target=first)
    worker.start()
    assert first_in.wait(10)
    with guard.held():
        second_in.set()
        assert first_out.wait(10)
        seen.append(blas_threads())  # the first holder left; this one still runs
    worker.join(10)
    assert seen == [1]
    assert blas_threads() == original
