"""StepTimer: each awaited step gets the whole timeout, kept by one timer per call."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from orchestratex.core.errors import ProviderTimeoutError
from orchestratex.providers.step_timer import StepTimer


def timeout_error() -> ProviderTimeoutError:
    return ProviderTimeoutError("no answer in time")


async def test_a_step_longer_than_the_timeout_raises_the_timeout_error() -> None:
    timer = StepTimer(0.05, timeout_error)
    never = asyncio.Event()
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await timer.step(never.wait())
    assert time.monotonic() - started < 5.0
    assert asyncio.current_task() is not None
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    timer.close()


async def test_steps_are_timed_one_by_one_not_in_total() -> None:
    timer = StepTimer(1.0, timeout_error)
    started = time.monotonic()
    for _ in range(8):
        # Each step takes 0.2 s on purpose: the steps' own duration is what is under test.
        assert await timer.step(asyncio.sleep(0.2, result="ok")) == "ok"
    assert time.monotonic() - started > 1.0  # longer than one timeout in all, never timed out
    timer.close()


async def test_the_timer_outlives_a_pause_between_steps() -> None:
    timer = StepTimer(0.2, timeout_error)
    assert await timer.step(asyncio.sleep(0, result=1)) == 1
    # A pause on purpose, longer than the timeout: the consumer's own time between steps is
    # what is under test (it is not counted); there is no condition to wait for.
    await asyncio.sleep(0.3)
    assert await timer.step(asyncio.sleep(0, result=2)) == 2
    with pytest.raises(ProviderTimeoutError):
        await timer.step(asyncio.Event().wait())
    timer.close()


async def test_someone_elses_cancellation_goes_through() -> None:
    timer = StepTimer(30.0, timeout_error)
    entered = asyncio.Event()

    async def waits() -> None:
        async def step() -> None:
            entered.set()
            await asyncio.Event().wait()

        await timer.step(step())

    task = asyncio.create_task(waits())
    await asyncio.wait_for(entered.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    timer.close()


async def test_close_drops_the_timer() -> None:
    timer = StepTimer(30.0, timeout_error)
    await timer.step(asyncio.sleep(0))
    assert timer._timer is not None
    timer.close()
    assert timer._timer is None


async def test_an_answer_that_arrived_while_the_loop_stalled_is_read_not_dropped() -> None:
    """The bytes arrive, then the loop is blocked past the deadline: on the next turn the data
    and the expired timer are seen together. The data wins (asyncio.timeout would cancel)."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    loop = asyncio.get_running_loop()

    def answer_then_stall() -> None:
        theirs.send(b"the whole answer")
        time.sleep(0.2)  # blocks the loop on purpose: a stall longer than the timeout

    timer = StepTimer(0.05, timeout_error)
    try:
        loop.call_soon(answer_then_stall)
        assert await timer.step(reader.read(100)) == b"the whole answer"
    finally:
        timer.close()
        writer.close()
        theirs.close()
