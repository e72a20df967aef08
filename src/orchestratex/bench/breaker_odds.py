"""How the failure-rate circuit breaker behaves against providers failing at random.

`python -m orchestratex.bench.breaker_odds` prints, for the default breaker settings and a few
alternatives, the probability that a provider failing a share `p` of its calls at random opens
its circuit within 1,000 calls, and how many calls a provider failing 100% or 90% (or 80%, 70%)
takes to open it. The figures are exact (no sampling): a dynamic programme over the 2^window
contents of the breaker's window, with the breaker's own opening rule (`failures_to_open`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from orchestratex.providers.breaker import BreakerSettings, failures_to_open

MAX_WINDOW = 22
"""2^22 states of 8 bytes: 32 MB per array, a few seconds per 1,000 calls."""


def opening_calls(settings: BreakerSettings, fail_p: float, calls: int) -> npt.NDArray[np.float64]:
    """P(the circuit opens at call t) for t = 0..calls (index 0 is always 0), for a provider
    whose calls fail independently with probability `fail_p`, from a closed empty window."""
    window = settings.window
    if window > MAX_WINDOW:
        raise ValueError(f"window {window} is over {MAX_WINDOW}: too many states to enumerate")
    size = 1 << window
    failures = np.zeros(size, dtype=np.int32)  # failures in each window content (bit = call)
    for bit in range(window):
        failures += (np.arange(size, dtype=np.int64) >> bit & 1).astype(np.int32)
    state = np.zeros(size)
    state[0] = 1.0  # no call seen: every slot counts as no failure
    opened = np.zeros(calls + 1)
    for t in range(1, calls + 1):
        kept = state.reshape(2, size // 2).sum(axis=0)  # the oldest call leaves the window
        state = np.empty(size)
        state[0::2] = kept * (1.0 - fail_p)
        state[1::2] = kept * fail_p
        seen = min(t, window)
        if seen >= settings.min_calls:
            hit = failures >= failures_to_open(seen, settings.failure_rate)
            opened[t] = state[hit].sum()
            state[hit] = 0.0
    return opened


def consecutive_opening_calls(threshold: int, fail_p: float, calls: int) -> npt.NDArray[np.float64]:
    """The same for the breaker this one replaced: open after `threshold` consecutive failures."""
    streak = np.zeros(threshold)  # P(current run of failures is i), not yet opened
    streak[0] = 1.0
    opened = np.zeros(calls + 1)
    for t in range(1, calls + 1):
        grown = streak * fail_p
        opened[t] = grown[-1]
        streak = np.concatenate(([streak.sum() * (1.0 - fail_p)], grown[:-1]))
    return opened


def calls_to_open(opened: npt.NDArray[np.float64], quantile: float) -> int | None:
    """The call by which the circuit has opened with probability `quantile` (None: not yet)."""
    reached = np.cumsum(opened)
    if reached[-1] < quantile:
        return None
    return int(np.searchsorted(reached, quantile))


@dataclass(frozen=True)
class Row:
    settings: BreakerSettings
    open_by_1000: dict[float, float]
    """P(opens within 1,000 calls) by failure share."""
    median_and_p99: dict[float, tuple[int | None, int | None]]
    """Calls to open (median, 99th percentile) by failure share."""


SAFE_SHARES = (0.3, 0.5)
BAD_SHARES = (1.0, 0.9, 0.8, 0.7)


def measure(settings: BreakerSettings, calls: int = 1000) -> Row:
    safe = {p: float(opening_calls(settings, p, calls).sum()) for p in SAFE_SHARES}
    bad: dict[float, tuple[int | None, int | None]] = {}
    for p in BAD_SHARES:
        opened = opening_calls(settings, p, calls)
        bad[p] = (calls_to_open(opened, 0.5), calls_to_open(opened, 0.99))
    return Row(settings, safe, bad)


def _cell(pair: tuple[int | None, int | None]) -> str:
    return "/".join("-" if n is None else str(n) for n in pair)


def measure_consecutive(threshold: int, calls: int = 1000) -> str:
    """One table row for the consecutive-failures rule."""
    safe = [float(consecutive_opening_calls(threshold, p, calls).sum()) for p in SAFE_SHARES]
    cells = []
    for p in BAD_SHARES:
        opened = consecutive_opening_calls(threshold, p, calls)
        cells.append(_cell((calls_to_open(opened, 0.5), calls_to_open(opened, 0.99))))
    return (
        f"| {threshold} in a row (before) | - | - | {safe[0]:.1e} | {safe[1]:.2f} | "
        + " | ".join(cells)
        + " |"
    )


def render(rows: list[Row]) -> str:
    head = (
        "| window | min_calls | failure_rate | P(open) at 30% | at 50% |"
        " calls to open at 100% | 90% | 80% | 70% (median/p99) |"
    )
    lines = [head, "|" + " --- |" * 9]
    for row in rows:
        s = row.settings
        lines.append(
            f"| {s.window} | {s.min_calls} | {s.failure_rate:g} "
            f"| {row.open_by_1000[0.3]:.1e} | {row.open_by_1000[0.5]:.2f} | "
            + " | ".join(_cell(row.median_and_p99[p]) for p in BAD_SHARES)
            + " |"
        )
    return "\n".join(lines)


ALTERNATIVES = (
    BreakerSettings(window=20, min_calls=10, failure_rate=0.8),
    BreakerSettings(window=20, min_calls=10, failure_rate=0.9),
    BreakerSettings(window=10, min_calls=10, failure_rate=0.8),
    BreakerSettings(window=20, min_calls=5, failure_rate=1.0),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--defaults-only", action="store_true", help="skip the alternatives")
    args = parser.parse_args(argv)
    candidates = [BreakerSettings()]
    if not args.defaults_only:
        candidates += [s for s in ALTERNATIVES if s != BreakerSettings()]
    print(render([measure(s) for s in candidates]))
    if not args.defaults_only:
        print(measure_consecutive(5))


if __name__ == "__main__":
    main()
