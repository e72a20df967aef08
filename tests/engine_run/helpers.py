"""Shared pieces of the engine run tests: a small scripted catalog and event helpers."""

from __future__ import annotations

from collections.abc import Sequence

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.events import Event
from orchestratex.core.types import Domain

MODELS = [
    ModelSpec(
        key="alpha",
        family="fa",
        provider="scripted",
        model_id="alpha",
        context_window=8000,
        specialties={Domain.GENERAL: 0.9},
        tier="large",
    ),
    ModelSpec(
        key="beta",
        family="fb",
        provider="scripted",
        model_id="beta",
        context_window=8000,
        specialties={Domain.GENERAL: 0.7},
    ),
    ModelSpec(
        key="gamma",
        family="fc",
        provider="scripted",
        model_id="gamma",
        context_window=8000,
        specialties={Domain.GENERAL: 0.6},
        tier="small",
    ),
    ModelSpec(
        key="delta",
        family="fd",
        provider="scripted",
        model_id="delta",
        context_window=8000,
        specialties={Domain.GENERAL: 0.5},
        tier="small",
    ),
]
PRICES: dict[str, Price | None] = {
    m.key: Price(input_per_mtok=1.0, output_per_mtok=1.0) for m in MODELS
}


def types(events: Sequence[Event]) -> list[str]:
    return [e.type for e in events]


def assert_well_formed(events: Sequence[Event], first_seq: int = 1) -> None:
    """Gap-free sequence numbers from `first_seq`, one thread, the documented order."""
    assert [e.seq for e in events] == list(range(first_seq, first_seq + len(events)))
    assert len({e.thread_id for e in events}) == 1
    kinds = types(events)
    assert kinds[:3] == ["started", "analysis", "selection"]
    assert kinds[-1] in {"completed", "failed", "cancelled"}
    assert sum(k in {"completed", "failed", "cancelled"} for k in kinds) == 1
    # every response is preceded by its generation model_call, every evaluation by a response
    for i, kind in enumerate(kinds):
        if kind == "response":
            assert kinds[i - 1] == "model_call"
        if kind == "evaluation":
            assert "response" in kinds[:i]
        if kind == "improvement":
            assert kinds[i - 1] in {"evaluation", "selection"}  # selection: a resumed run
