from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from typer.testing import CliRunner

from orchestratex.bench.routing_data import STRONG_MODEL, WEAK_MODEL
from orchestratex.cli.main import app
from tests.routing.helpers import DATA_DIR, needs_data

runner = CliRunner()


def _write_csv(path: Path, rows: list[tuple[str, bool, bool]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["prompt", WEAK_MODEL, STRONG_MODEL])
        for prompt, weak, strong in rows:
            out.writerow([prompt, str(weak), str(strong)])


HARD = (
    "question {i}: prove rigorously that the integral of x^{i} dx from 0 to 1 equals 1/({i}+1); "
    "derive every step, justify each lemma, and state the theorem used. {r:.6f}"
)
EASY = "question {i}: say hello. {r:.6f}"


def fake_data(root: Path, n: int = 60) -> Path:
    """A tiny RouteLLM-shaped folder: long proof prompts need the strong model, short greetings
    do not (separable by the analysis features alone, so without the embeddings extra too)."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        hard = i % 3 == 0
        text = (HARD if hard else EASY).format(i=i, r=rng.random())
        rows.append((text, not hard, True))
    _write_csv(root / "gsm8k" / "gsm8k_responses.csv", rows)
    _write_csv(root / "mmlu" / "responses" / "mmlu_logic.csv", rows)
    banned = {"train_prompt": "x", "eval_prompt": rows[1][0], "train_idx": 0, "eval_idx": 1}
    for name in ("gsm8k", "mmlu", "mt_bench"):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "contaminated_prompts.jsonl").write_text(json.dumps(banned) + "\n")
    questions, judgements = [], []
    for qid, (prompt, weak_ok, _) in enumerate(rows):
        questions.append({"question_id": qid, "category": "math", "turns": [prompt, "more"]})
        for turn in (1, 2):
            judgements.append({"question_id": qid, "model": STRONG_MODEL, "turn": turn, "score": 9})
            score = 8 if weak_ok else 4
            judgements.append(
                {"question_id": qid, "model": WEAK_MODEL, "turn": turn, "score": score}
            )
    mt = root / "mt_bench"
    (mt / "question.jsonl").write_text("\n".join(json.dumps(q) for q in questions) + "\n")
    (mt / "judgements.jsonl").write_text("\n".join(json.dumps(j) for j in judgements) + "\n")
    return root


def test_cli_json_on_synthetic_data(tmp_path: Path) -> None:
    data = fake_data(tmp_path / "data")
    scores = tmp_path / "scores.jsonl"
    result = runner.invoke(
        app,
        [
            "bench",
            "routing",
            "--data",
            str(data),
            "--json",
            "--scores-out",
            str(scores),
            "--no-embeddings",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    names = [b["benchmark"] for b in report["benchmarks"]]
    assert names == ["mt_bench", "mmlu", "gsm8k"]
    for bench in report["benchmarks"]:
        assert bench["contaminated_dropped"] == 1
        assert bench["train_prompts"] + bench["test_prompts"] == 59
        assert bench["learned"]["apgr"] > bench["random"]["apgr"] + 0.1
        assert bench["oracle"]["apgr"] >= bench["learned"]["apgr"] - 1e-9
    # Every kind is listed with its evidence; none has the 200 training rows an expert needs.
    experts = {e["kind"]: e for e in report["selection"]["experts"]}
    assert set(experts) == {"mt_bench", "mmlu", "gsm8k"}
    assert all(not e["used"] and e["best"] is None for e in experts.values())
    assert all(b["expert_shares"] == {} for b in report["benchmarks"])
    assert report["total_seconds"] > 0.0
    lines = [json.loads(line) for line in scores.read_text().splitlines()]
    assert len(lines) == sum(b["test_prompts"] for b in report["benchmarks"])
    assert set(lines[0]) == {"benchmark", "prompt", "strong_score"}


def test_cli_test_data_and_table(tmp_path: Path) -> None:
    data = fake_data(tmp_path / "train")
    held = fake_data(tmp_path / "held", n=30)
    result = runner.invoke(
        app,
        [
            "bench",
            "routing",
            "--data",
            str(data),
            "--test-data",
            str(held),
            "--seed",
            "2",
            "--no-embeddings",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "gsm8k: 29 test prompts (59 train, 1 contaminated dropped)" in result.output
    assert "oracle" in result.output and "always strong" in result.output
    assert "gsm8k: 59 training prompts, too few to try: pooled model" in result.output


def test_cli_missing_data_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "routing", "--data", str(tmp_path)])
    assert result.exit_code == 2


@needs_data
def test_cli_json_on_real_data(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench",
            "routing",
            "--data",
            str(DATA_DIR),
            "--json",
            "--limit",
            "400",
            "--no-embeddings",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    by_name = {b["benchmark"]: b for b in report["benchmarks"]}
    assert set(by_name) == {"mt_bench", "mmlu", "gsm8k"}
    for bench in by_name.values():
        assert 0.0 < bench["weak_quality"] < bench["strong_quality"]
        assert len(bench["learned"]["curve"]) == 11
        assert abs(bench["random"]["apgr"] - 0.5) < 0.1
