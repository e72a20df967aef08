"""Loading the recordings: hand-made files for the layout, the shared data for the real thing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from orchestratex.providers.replay_data import (
    STRONG_MODEL,
    WEAK_MODEL,
    ReplayData,
    ReplayDataError,
    ReplayIndex,
    extract_answer,
    load_index,
)
from tests.replay.conftest import GPT_COL, MIX_COL


def test_tiny_layout_loads_answers_labels_and_judge_verdicts(tiny_data: Path) -> None:
    index = load_index(tiny_data)
    assert [p.id for p in index.prompts] == ["gsm8k-0001", "gsm8k-0002", "mt_bench-7"]
    first = index.by_id["gsm8k-0001"]
    assert first.answers == {STRONG_MODEL: "2 + 3 = 5.", WEAK_MODEL: "2 + 3 = 6\n#### 6"}
    assert first.verdicts[STRONG_MODEL].correct is True
    assert first.verdicts[STRONG_MODEL].score == 9.0
    assert first.verdicts[WEAK_MODEL].score == 2.0
    assert first.verdicts[WEAK_MODEL].reference == "5"
    assert "reference final answer is 5" in first.verdicts[WEAK_MODEL].text
    haiku = index.by_id["mt_bench-7"]
    assert haiku.category == "writing"
    assert haiku.answers[STRONG_MODEL] == "Leaves fall\n\nquietly [ok]"
    assert haiku.verdicts[WEAK_MODEL].score == 3.5
    assert haiku.verdicts[WEAK_MODEL].text == "Not a haiku. Rating: [[3.5]]"


def test_index_finds_prompts_by_normalised_text(tiny_data: Path) -> None:
    index = load_index(tiny_data)
    assert index.find("  What is\n2 +   3? ") is index.by_id["gsm8k-0001"]
    assert index.find("What is 2 + 4?") is None
    assert [p.id for p in index.search(source="mt_bench")] == ["mt_bench-7"]
    assert [p.id for p in index.search(query="4 X 2")] == ["gsm8k-0002"]
    assert [p.id for p in index.search(query="writing")] == ["mt_bench-7"]
    assert len(index.search(limit=2)) == 2


def test_extract_answer_is_exact_and_refuses_other_shapes() -> None:
    prompt = (
        "[Question]\nQ\n\n[The Start of Assistant's Answer]\n  two\nlines \n"
        "[The End of Assistant's Answer]"
    )
    assert extract_answer(prompt) == "  two\nlines "
    with pytest.raises(ReplayDataError):
        extract_answer("no answer here")


async def test_missing_directory_raises_every_time(tmp_path: Path) -> None:
    data = ReplayData(tmp_path / "nowhere")
    assert not data.present()
    for _ in range(2):
        with pytest.raises(ReplayDataError, match="not found"):
            await data.load()


async def test_load_happens_once(tiny_data: Path) -> None:
    data = ReplayData(tiny_data)
    first = await data.load()
    assert await data.load() is first


# --- the shared recordings ------------------------------------------------------------------


def test_real_recordings_have_every_gsm8k_and_mt_bench_prompt(index: ReplayIndex) -> None:
    sources = [p.source for p in index.prompts]
    assert sources.count("gsm8k") == 1319
    assert sources.count("mt_bench") == 80
    assert len(index.by_text) == len(index)


def test_real_gsm8k_answers_are_the_csv_texts(index: ReplayIndex, data_dir: Path) -> None:
    with (data_dir / "gsm8k" / "gsm8k_responses.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in (rows[0], rows[500], rows[-1]):
        prompt = index.find(row["prompt"])
        assert prompt is not None
        assert prompt.answers[STRONG_MODEL] == row[f"{GPT_COL}_response"].strip()
        assert prompt.answers[WEAK_MODEL] == row[f"{MIX_COL}_response"].strip()
        assert prompt.verdicts[WEAK_MODEL].correct is (row[MIX_COL] == "True")


def test_real_mt_bench_answers_come_from_the_judge_input(
    index: ReplayIndex, data_dir: Path
) -> None:
    rows = [
        json.loads(line)
        for line in (data_dir / "mt_bench" / "judgements.jsonl").read_text("utf-8").splitlines()
    ]
    row = next(r for r in rows if r["turn"] == 1 and r["model"] == MIX_COL)
    prompt = index.by_id[f"mt_bench-{row['question_id']}"]
    answer = prompt.answers[WEAK_MODEL]
    assert answer and answer in row["user_prompt"]
    assert "[The End of Assistant's Answer]" not in answer
    assert "[The Start of" not in answer
    assert prompt.verdicts[WEAK_MODEL].score == float(row["score"])
    assert prompt.verdicts[WEAK_MODEL].text == row["judgment"].strip()
