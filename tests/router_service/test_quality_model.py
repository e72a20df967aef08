"""Learned selection for any catalog: trained from the store's judged history, persisted, used."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestratex.cli.main import app
from orchestratex.core.catalog import ModelSpec
from orchestratex.core.orchestration import Preferences
from orchestratex.engine.analysis import analyze
from orchestratex.engine.learned_quality import HistoryRow, QualityModel
from orchestratex.engine.selection import Selector
from orchestratex.runtime.quality_model import load_quality_model, quality_model_path
from orchestratex.store.db import create_engine, create_session_factory, init_db
from orchestratex.store.tables import Prompt, Response, Thread
from tests.routing.test_cli import EASY, HARD


def _history(n: int = 60) -> list[HistoryRow]:
    """Model 'big' is judged 9 on proofs and 6 on greetings; 'small' 3 on proofs, 8 on greetings."""
    rows = []
    for i in range(n):
        hard = i % 2 == 0
        prompt = (HARD if hard else EASY).format(i=i, r=i / n)
        rows.append(HistoryRow(prompt, "big", 9.0 if hard else 6.0))
        rows.append(HistoryRow(prompt, "small", 3.0 if hard else 8.0))
    return rows


def _spec(key: str) -> ModelSpec:
    return ModelSpec(
        key=key, family=key, provider="p", model_id=key, tier="medium", context_window=8000
    )


def test_per_prompt_quality_with_uncertainty_and_round_trip() -> None:
    model = QualityModel.fit(_history())
    hard = model.estimates(HARD.format(i=101, r=0.3))
    easy = model.estimates(EASY.format(i=102, r=0.3))
    assert hard["big"].mean > hard["small"].mean + 3 and easy["small"].mean > easy["big"].mean + 1
    assert all(0 < e.std < 2 for e in hard.values()) and hard["big"].samples == 60
    again = QualityModel.from_dict(model.to_dict())
    before, after = (
        model.estimates(HARD.format(i=1, r=0.1)),
        again.estimates(HARD.format(i=1, r=0.1)),
    )
    assert before.keys() == after.keys()
    for key in before:  # the covariance is stored as float32
        assert after[key].mean == before[key].mean
        assert after[key].std == pytest.approx(before[key].std, rel=1e-4)
    assert QualityModel.fit(_history(10), min_history=20).models == {}


def test_selection_uses_the_learned_quality_and_says_so() -> None:
    selector = Selector(
        [_spec("big"), _spec("small")], {}, quality_model=QualityModel.fit(_history())
    )
    prefs = Preferences(quality_weight=1.0, cost_weight=0.0, latency_weight=0.0)
    for text, want in ((HARD.format(i=7, r=0.5), "big"), (EASY.format(i=8, r=0.5), "small")):
        decision = selector.select(analyze(text), prefs, prompt=text)
        assert decision.model == want
        assert any("learned from judged history" in r for r in decision.reasons), decision.reasons


async def _seed_store(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await init_db(engine)
        async with create_session_factory(engine)() as session:
            rows = _history(40)
            session.add_all([Thread(id=f"t{t}", status="completed") for t in range(len(rows))])
            session.add(Thread(id="unjudged", status="completed"))
            await session.flush()
            for t, row in enumerate(rows):
                session.add(Prompt(thread_id=f"t{t}", text=row.prompt))
                session.add(
                    Response(
                        thread_id=f"t{t}",
                        round=1,
                        model=row.model,
                        kind="initial",
                        text="x",
                        score=row.score,
                    )
                )
            session.add(Prompt(thread_id="unjudged", text="hello"))
            session.add(
                Response(thread_id="unjudged", round=1, model="big", kind="initial", text="y")
            )
            await session.commit()
    finally:
        await engine.dispose()


def test_router_train_command_learns_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORX_DATA_DIR", str(tmp_path))
    asyncio.run(_seed_store(f"sqlite+aiosqlite:///{(tmp_path / 'orchestratex.db').as_posix()}"))
    result = CliRunner().invoke(app, ["router", "train", "--min-history", "10"])
    assert result.exit_code == 0, result.output
    assert "trained on 80 judged answers" in result.output
    saved = load_quality_model(quality_model_path(tmp_path))
    assert saved is not None and saved.models == {"big": 40, "small": 40}
    hard = saved.estimates(HARD.format(i=3, r=0.2))
    assert hard["big"].mean > hard["small"].mean
