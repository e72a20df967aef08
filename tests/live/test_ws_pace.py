"""The pace of one WebSocket connection's messages (a token bucket), on a clock the test moves."""

from __future__ import annotations

from orchestratex.runtime.ws_hub import MessagePace, WsHub


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def test_a_burst_passes_then_messages_come_at_the_pace() -> None:
    clock = Clock()
    pace = MessagePace(10.0, 3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await pace.wait()
    assert clock.slept == [], "the burst is read at once"
    for _ in range(4):
        await pace.wait()
    assert clock.slept == [0.1] * 4, "then one message per 1/10 s"


async def test_quiet_time_refills_the_burst_up_to_its_size() -> None:
    clock = Clock()
    pace = MessagePace(10.0, 3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await pace.wait()
    clock.now += 60.0  # a minute idle refills 3 tokens, not 600
    for _ in range(3):
        await pace.wait()
    assert clock.slept == []
    await pace.wait()
    assert clock.slept == [0.1]


def test_connections_per_user_are_capped_and_released() -> None:
    hub = WsHub(max_connections_per_user=2)
    assert hub.admit("u1") and hub.admit("u1")
    assert not hub.admit("u1"), "a third connection of the same key"
    assert hub.admit("u2") and hub.admit(None), "other keys and open mode count apart"
    hub.release("u1")
    assert hub.admit("u1")
