"""The failure-rate circuit breaker on its own, on a hand-moved clock (no sleeps)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from orchestratex.bench.breaker_odds import consecutive_opening_calls, opening_calls
from orchestratex.core.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    MalformedResponseError,
    NotRecordedError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from orchestratex.providers.breaker import (
    BreakerSettings,
    BreakerView,
    CircuitBreaker,
    Permit,
    failures_to_open,
)
from orchestratex.runtime.settings import Settings
from tests.providers.conftest import ManualClock


def feed(breaker: CircuitBreaker, outcomes: str) -> list[str]:
    """Calls let out one at a time, 'F' failed, 'S' succeeded, until the circuit opens; the
    state after each."""
    states: list[str] = []
    for outcome in outcomes:
        permit = breaker.allow()
        if outcome == "F":
            breaker.record_failure(permit)
        else:
            breaker.record_success(permit)
        states.append(breaker.state)
        if states[-1] == "open":
            break
    return states


def test_a_hard_down_provider_opens_at_min_calls() -> None:
    breaker = CircuitBreaker("m", clock=ManualClock())  # defaults: 20 calls, 10 min, 85%
    states = feed(breaker, "F" * 10)
    assert states == ["closed"] * 9 + ["open"]
    with pytest.raises(CircuitOpenError, match="failure rate"):
        breaker.allow()


def test_a_streak_that_the_consecutive_rule_tripped_on_does_not_open_it() -> None:
    """Runs of 8 failures in 20 calls (40%): the old rule opened at the 5th in a row."""
    breaker = CircuitBreaker("m", clock=ManualClock())
    assert set(feed(breaker, ("F" * 8 + "S" * 12) * 50)) == {"closed"}
    view = breaker.view()
    assert (view.calls, view.failures) == (20, 8)


def test_ninety_percent_failures_interleaved_with_successes_open_it() -> None:
    breaker = CircuitBreaker("m", clock=ManualClock())
    states = feed(breaker, "FFFFSFFFFF")  # 9 of 10 failed: 90% >= 85%
    assert states[-1] == "open" and states[:-1] == ["closed"] * 9


def test_the_rate_is_over_the_last_window_calls_only() -> None:
    breaker = CircuitBreaker(
        "m", settings=BreakerSettings(window=4, min_calls=4), clock=ManualClock()
    )
    assert set(feed(breaker, "SSSSFFF")) == {"closed"}  # last four: S F F F, 75%
    assert feed(breaker, "F") == ["open"]  # last four: F F F F


def test_half_open_lets_the_probes_through_and_every_one_must_succeed() -> None:
    clock = ManualClock()
    settings = BreakerSettings(window=4, min_calls=2, cooldown_s=5.0, half_open_probes=3)
    breaker = CircuitBreaker("m", settings=settings, clock=clock)
    feed(breaker, "FF")
    assert breaker.view().retry_in_s == 5.0
    clock.now += 4.0
    assert breaker.view().retry_in_s == pytest.approx(1.0)
    with pytest.raises(CircuitOpenError):
        breaker.allow()
    clock.now += 1.0
    assert breaker.state == "half_open"
    probes = [breaker.allow() for _ in range(3)]
    with pytest.raises(CircuitOpenError):
        breaker.allow()  # every probe is out
    breaker.record_neutral(probes[0])  # cancelled: its place is given back
    probes[0] = breaker.allow()
    breaker.record_success(probes[0])
    breaker.record_success(probes[1])
    assert (breaker.view().state, breaker.view().calls) == ("half_open", 2)
    with pytest.raises(CircuitOpenError):
        breaker.allow()  # two passed and one out: three probes in all
    breaker.record_success(probes[2])
    assert breaker.view() == BreakerView("closed", 0, 0, None)  # a fresh window
    assert feed(breaker, "F") == ["closed"]  # min_calls counts again from nothing


def test_a_failed_probe_reopens_and_the_other_probes_count_for_nothing() -> None:
    clock = ManualClock()
    settings = BreakerSettings(window=2, min_calls=2, cooldown_s=5.0, half_open_probes=2)
    breaker = CircuitBreaker("m", settings=settings, clock=clock)
    feed(breaker, "FF")
    clock.now += 5.0
    first, second = breaker.allow(), breaker.allow()
    breaker.record_failure(first)
    assert breaker.state == "open" and breaker.view().retry_in_s == 5.0
    clock.now += 2.0
    breaker.record_success(second)  # a probe of the last half-open period
    breaker.record_failure(second)
    assert breaker.state == "open" and breaker.view().retry_in_s == pytest.approx(3.0)


def test_calls_let_out_before_the_circuit_opened_neither_close_it_nor_extend_it() -> None:
    clock = ManualClock()
    settings = BreakerSettings(window=2, min_calls=2, cooldown_s=5.0)
    breaker = CircuitBreaker("m", settings=settings, clock=clock)
    under_way = [breaker.allow() for _ in range(4)]
    breaker.record_failure(under_way[0])
    breaker.record_failure(under_way[1])
    assert breaker.state == "open"
    clock.now += 1.0
    breaker.record_success(under_way[2])  # answered after the circuit opened
    breaker.record_failure(under_way[3])
    assert breaker.state == "open" and breaker.view().retry_in_s == pytest.approx(4.0)


def test_a_late_failure_from_before_the_last_close_does_not_count() -> None:
    clock = ManualClock()
    settings = BreakerSettings(window=2, min_calls=2, cooldown_s=0.0, half_open_probes=1)
    breaker = CircuitBreaker("m", settings=settings, clock=clock)
    old = breaker.allow()
    feed(breaker, "FF")
    breaker.record_success(breaker.allow())  # the probe closes it
    assert breaker.state == "closed"
    breaker.record_failure(old)
    assert breaker.view().calls == 0


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (ProviderUnavailableError("5xx or no connection"), True),
        (ProviderTimeoutError("no answer in time"), True),
        (MalformedResponseError("unreadable or cut answer"), True),
        (RateLimitedError("429"), False),
        (BadRequestError("400"), False),
        (AuthenticationError("401"), False),
        (NotRecordedError("no recording"), False),
        (CircuitOpenError("refused here"), False),
    ],
)
def test_which_errors_say_the_provider_is_unhealthy(error: ProviderError, counts: bool) -> None:
    assert error.provider_fault is counts


def test_failures_to_open_reads_decimal_rates_as_written() -> None:
    assert [failures_to_open(n, 0.85) for n in (10, 20)] == [9, 17]
    assert [failures_to_open(n, 0.8) for n in (5, 10, 20)] == [4, 8, 16]
    assert failures_to_open(3, 1.0) == 3 and failures_to_open(7, 0.01) == 1


@pytest.mark.parametrize(
    "settings",
    [
        BreakerSettings(window=4, min_calls=2, failure_rate=0.5),
        BreakerSettings(window=3, min_calls=3, failure_rate=0.85),
    ],
)
def test_the_odds_computation_follows_the_breakers_own_rule(settings: BreakerSettings) -> None:
    """bench/breaker_odds.py against every sequence of 9 outcomes fed to a real breaker."""
    calls, fail_p = 9, 0.3
    expected = [0.0] * (calls + 1)
    for outcomes in itertools.product("SF", repeat=calls):
        breaker = CircuitBreaker("m", settings=settings, clock=ManualClock())
        states = feed(breaker, "".join(outcomes))
        if "open" in states:
            failed = outcomes.count("F")
            weight = fail_p**failed * (1 - fail_p) ** (calls - failed)
            expected[states.index("open") + 1] += weight
    assert list(opening_calls(settings, fail_p, calls)) == pytest.approx(expected)


def test_the_consecutive_rule_odds() -> None:
    opened = consecutive_opening_calls(2, 0.5, 4)
    # F F; S F F; (S|F S) then F F within four calls: 1/4, 1/8, 1/8
    assert list(opened) == pytest.approx([0.0, 0.0, 0.25, 0.125, 0.125])


@pytest.mark.parametrize(
    "settings",
    [
        {"window": 10, "min_calls": 11},
        {"failure_rate": 0.0},
        {"failure_rate": 1.5},
        {"cooldown_s": -1.0},
        {"half_open_probes": 0},
    ],
)
def test_bad_breaker_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="breaker"):
        BreakerSettings(**settings)  # type: ignore[arg-type]


def test_service_settings_check_the_rule_and_name_the_removed_threshold() -> None:
    assert Settings().breaker == BreakerSettings()
    window = r"breaker_min_calls \(25\) must be between 1 and breaker_window \(20\)"
    with pytest.raises(ValidationError, match=window):
        Settings(breaker_min_calls=25)
    with pytest.raises(ValidationError, match="breaker_threshold was removed"):
        Settings(breaker_threshold=5)


def test_a_permit_says_whether_it_is_a_probe() -> None:
    assert not Permit(probe=False).probe and Permit(probe=True).probe


def test_a_peer_opens_it_for_the_rest_of_its_cooldown_without_telling_anyone() -> None:
    clock = ManualClock()
    told: list[tuple[str, float]] = []
    breaker = CircuitBreaker(
        "m", settings=BreakerSettings(cooldown_s=30.0), clock=clock, on_open=_tell(told)
    )
    breaker.open_from_peer(12.0)
    assert breaker.view() == BreakerView("open", 0, 0, 12.0)
    with pytest.raises(CircuitOpenError):
        breaker.allow()
    breaker.open_from_peer(5.0)  # a shorter refusal does not cut the one in place
    assert breaker.view().retry_in_s == 12.0
    breaker.open_from_peer(300.0)  # never longer than this instance's own cooldown
    assert breaker.view().retry_in_s == 30.0
    clock.now += 30.0
    assert breaker.state == "half_open"  # then it probes for itself
    assert told == []


def test_it_tells_of_an_open_on_its_own_calls_and_of_a_failed_probe() -> None:
    clock = ManualClock()
    told: list[tuple[str, float]] = []
    settings = BreakerSettings(window=4, min_calls=2, failure_rate=1.0, cooldown_s=10.0)
    breaker = CircuitBreaker("m", settings=settings, clock=clock, on_open=_tell(told))
    for _ in range(2):
        breaker.record_failure(breaker.allow())
    assert told == [("m", 10.0)]
    clock.now += 10.0
    breaker.record_failure(breaker.allow())  # a failed probe: a new cooldown, told again
    assert told == [("m", 10.0), ("m", 10.0)]


def _tell(told: list[tuple[str, float]]) -> Callable[[str, float], None]:
    def on_open(name: str, cooldown_s: float) -> None:
        told.append((name, cooldown_s))

    return on_open
