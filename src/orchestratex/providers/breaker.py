"""A circuit breaker that opens on a failure rate over a window of a model's latest calls.

Closed: each counted call (success or provider fault, see `ProviderError.provider_fault`) goes
into a window of the last `window` calls. Once it holds at least `min_calls`, the circuit opens
when at least `failure_rate` of them failed. Open: calls are refused (CircuitOpenError) for
`cooldown_s`. Half-open: `half_open_probes` calls may go out; when all of them have succeeded the
circuit closes with an empty window, and the first that fails opens it again for a new cooldown.

A call's outcome counts only in the state that let it out: an answer that arrives after the
circuit opened (it was under way already) neither closes it nor extends its cooldown, and a late
failure of a call let out before the last close does not count against the new window. `allow`
hands out a `Permit` naming that state; the outcome is recorded with it.

Several instances of the service: when a circuit opens on this instance's own calls, `on_open`
is told (name, cooldown), so that its peers can be told; `open_from_peer` opens the circuit
here for the rest of a peer's cooldown, as if it had opened here, without telling anyone again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from orchestratex.core.errors import CircuitOpenError

CircuitState = Literal["closed", "open", "half_open"]


def failures_to_open(calls: int, failure_rate: float) -> int:
    """The fewest failures among `calls` counted calls that make their rate >= `failure_rate`
    (decimal rates such as 0.85 are not exact in binary: 17 of 20 must count as 0.85)."""
    return max(1, math.ceil(failure_rate * calls - 1e-9))


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """The rule of every circuit breaker of a gateway (docs/configuration.md, `breaker_*`)."""

    window: int = 20
    """Counted calls remembered: the failure rate is over the last `window` of them."""
    min_calls: int = 10
    """Counted calls needed in the window before the rate may open the circuit."""
    failure_rate: float = 0.85
    """Share of failed calls in the window that opens the circuit."""
    cooldown_s: float = 30.0
    """How long an open circuit refuses calls before letting probes through."""
    half_open_probes: int = 3
    """Calls let through after the cooldown; all must succeed to close the circuit."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_calls <= self.window:
            raise ValueError(
                f"breaker_min_calls ({self.min_calls}) must be between 1 and breaker_window "
                f"({self.window})"
            )
        if not 0.0 < self.failure_rate <= 1.0:
            raise ValueError(f"breaker_failure_rate ({self.failure_rate}) must be in (0, 1]")
        if not 0.0 <= self.cooldown_s < math.inf:
            raise ValueError(f"breaker_cooldown_s ({self.cooldown_s}) must be finite and >= 0")
        if self.half_open_probes < 1:
            raise ValueError(
                f"breaker_half_open_probes ({self.half_open_probes}) must be at least 1"
            )


class Permit:
    """What `CircuitBreaker.allow` lets out: one object per closed or half-open period."""

    __slots__ = ("probe",)

    def __init__(self, *, probe: bool) -> None:
        self.probe = probe


@dataclass(frozen=True, slots=True)
class BreakerView:
    """A breaker's state for health reports: no call content, only counts."""

    state: CircuitState
    calls: int
    """Counted calls in the window (closed), or probes that succeeded (half-open)."""
    failures: int
    """Failed calls among them (closed; 0 otherwise)."""
    retry_in_s: float | None
    """Open: seconds until probes are let through; None otherwise."""


class CircuitBreaker:
    """closed -> open on the failure rate; open -> half_open after the cooldown; half_open ->
    closed when every probe succeeded, or -> open at the first failed probe."""

    def __init__(
        self,
        name: str,
        *,
        settings: BreakerSettings | None = None,
        clock: Callable[[], float],
        on_open: Callable[[str, float], None] | None = None,
    ) -> None:
        self.name = name
        self._on_open = on_open
        self._settings = settings = settings or BreakerSettings()
        self._need = [
            failures_to_open(n, settings.failure_rate) for n in range(settings.window + 1)
        ]
        self._clock = clock
        self._outcomes = bytearray(settings.window)  # a ring: 1 = failed
        self._next = 0
        self._calls = 0
        self._failures = 0
        self._opened_at: float | None = None
        self._permit = Permit(probe=False)
        self._probes_out = 0
        self._probes_passed = 0

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._settings.cooldown_s:
            return "half_open"
        return "open"

    def view(self) -> BreakerView:
        state = self.state
        if state == "closed":
            return BreakerView(state, self._calls, self._failures, None)
        if state == "half_open":
            return BreakerView(state, self._probes_passed, 0, None)
        assert self._opened_at is not None
        left = self._opened_at + self._settings.cooldown_s - self._clock()
        return BreakerView(state, 0, 0, max(0.0, left))

    def allow(self, *, provider: str = "", model: str = "") -> Permit:
        """The permit of a call that may go out now; raises CircuitOpenError otherwise (open,
        or half-open with every probe taken)."""
        if self._opened_at is None:
            return self._permit
        probes_left = self._settings.half_open_probes - self._probes_out - self._probes_passed
        if probes_left > 0 and self.state == "half_open":
            self._probes_out += 1
            return self._permit
        raise CircuitOpenError(
            f"circuit for {self.name!r} is open after a high failure rate; try again later",
            provider=provider,
            model=model,
        )

    def record_success(self, permit: Permit) -> None:
        if permit is not self._permit:
            return  # let out in an earlier state: says nothing of this one
        if not permit.probe:
            if self._count(failed=False):  # min_calls reached with the rate already high
                self._open()
            return
        self._probes_out -= 1
        self._probes_passed += 1
        if self._probes_passed >= self._settings.half_open_probes:
            self._close()

    def record_failure(self, permit: Permit) -> None:
        if permit is not self._permit:
            return
        if permit.probe or self._count(failed=True):  # a failed probe reopens at once
            self._open()

    def record_neutral(self, permit: Permit) -> None:
        """The call ended without telling whether the provider is healthy (cancelled, a rate
        limit, a refused request): a probe's place is given back."""
        if permit is self._permit and permit.probe:
            self._probes_out -= 1

    def _count(self, *, failed: bool) -> bool:
        """Add a closed-state outcome to the window; True when the rate now opens it."""
        window = self._settings.window
        if self._calls == window:
            self._failures -= self._outcomes[self._next]
        else:
            self._calls += 1
        self._outcomes[self._next] = failed
        self._failures += failed
        self._next = (self._next + 1) % window
        return self._calls >= self._settings.min_calls and self._failures >= self._need[self._calls]

    def open_from_peer(self, remaining_s: float) -> None:
        """Refuse calls for `remaining_s` more seconds (capped at the cooldown), then probe: a
        peer's circuit for this name opened. A longer refusal already in place is kept."""
        cooldown = self._settings.cooldown_s
        remaining = min(max(0.0, remaining_s), cooldown)
        now = self._clock()
        opened_at = now - (cooldown - remaining)
        if self.state == "open":
            assert self._opened_at is not None
            if self._opened_at >= opened_at:
                return
        self._open(at=opened_at, tell=False)

    def _open(self, *, at: float | None = None, tell: bool = True) -> None:
        self._opened_at = self._clock() if at is None else at
        self._permit = Permit(probe=True)  # the coming half-open period's
        self._probes_out = self._probes_passed = 0
        if tell and self._on_open is not None:
            self._on_open(self.name, self._settings.cooldown_s)

    def _close(self) -> None:
        self._opened_at = None
        self._permit = Permit(probe=False)
        self._outcomes[:] = bytes(self._settings.window)
        self._next = self._calls = self._failures = 0
