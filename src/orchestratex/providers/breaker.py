"""A circuit breaker: after N consecutive failures, refuse calls until a cooldown has passed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from orchestratex.core.errors import CircuitOpenError

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """closed -> open after `threshold` consecutive failures; open -> half_open after
    `cooldown_s`; half_open lets one probe through: success closes, failure reopens."""

    def __init__(
        self,
        name: str,
        *,
        threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float],
    ) -> None:
        if threshold < 1 or cooldown_s < 0:
            raise ValueError("threshold must be >= 1 and cooldown_s >= 0")
        self.name = name
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._cooldown_s:
            return "half_open"
        return "open"

    def allow(self, *, provider: str = "", model: str = "") -> None:
        """Raise CircuitOpenError unless a call may go out now (claims the half-open probe)."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._probing:
            self._probing = True
            return
        raise CircuitOpenError(
            f"circuit for {self.name!r} is open after repeated failures; try again later",
            provider=provider,
            model=model,
        )

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        if self._probing or self._opened_at is not None:
            self._opened_at = self._clock()
            self._probing = False
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()

    def record_neutral(self) -> None:
        """The call ended without telling whether the provider is healthy (e.g. cancelled)."""
        self._probing = False
