"""Fixtures: the shared RouteLLM recordings (skip when absent) and a tiny hand-made copy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from orchestratex.providers.replay_data import ReplayData, ReplayIndex, load_index

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routellm"
GPT_COL = "gpt-4-1106-preview"
MIX_COL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (SHARED_DATA / "gsm8k" / "gsm8k_responses.csv").is_file():
        pytest.skip(f"the RouteLLM recordings are not in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def index(data_dir: Path) -> ReplayIndex:
    return load_index(data_dir)


@pytest.fixture
def replay_data(data_dir: Path) -> ReplayData:
    return ReplayData(data_dir)


def _judge_prompt(question: str, answer: str) -> str:
    return (
        "[Instruction]\nPlease act as an impartial judge.\n\n"
        f"[Question]\n{question}\n\n"
        f"[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
    )


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """Two GSM8K and one MT-Bench prompt in the layout of the real recordings."""
    root = tmp_path / "routellm"
    (root / "gsm8k").mkdir(parents=True)
    (root / "mt_bench").mkdir()
    with (root / "gsm8k" / "gsm8k_responses.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["prompt", MIX_COL, GPT_COL, f"{MIX_COL}_response", f"{GPT_COL}_response"])
        writer.writerow(["What is 2 + 3?", "False", "True", " 2 + 3 = 6\n#### 6\n", "2 + 3 = 5."])
        writer.writerow(["What is 4 x 2?", "True", "True", "4 x 2 = 8\n#### 8", "It is 8."])
    tests = [
        {"question": "What is 2 + 3?", "answer": "2+3=5\n#### 5"},
        {"question": "What is 4 x 2?", "answer": "4*2=8\n#### 8"},
    ]
    (root / "gsm8k" / "test.jsonl").write_text(
        "".join(json.dumps(t) + "\n" for t in tests), encoding="utf-8"
    )
    question = {"question_id": 7, "category": "writing", "turns": ["Write a haiku.", "Again."]}
    (root / "mt_bench" / "question.jsonl").write_text(json.dumps(question) + "\n", "utf-8")
    rows = [
        {
            "question_id": 7,
            "model": GPT_COL,
            "judge": ["gpt-4", "single-v1"],
            "user_prompt": _judge_prompt("Write a haiku.", "Leaves fall\n\nquietly [ok]"),
            "judgment": "Lovely. Rating: [[9]]",
            "score": 9,
            "turn": 1,
        },
        {
            "question_id": 7,
            "model": MIX_COL,
            "judge": ["gpt-4", "single-v1"],
            "user_prompt": _judge_prompt("Write a haiku.", "A haiku is short."),
            "judgment": "Not a haiku. Rating: [[3.5]]",
            "score": 3.5,
            "turn": 1,
        },
        {
            "question_id": 7,
            "model": GPT_COL,
            "judge": ["gpt-4", "single-v1-multi-turn"],
            "user_prompt": "turn two, ignored",
            "judgment": "Rating: [[1]]",
            "score": 1,
            "turn": 2,
        },
    ]
    (root / "mt_bench" / "judgements.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    return root
