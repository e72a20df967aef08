"""Recorded answers of two real models, read from the RouteLLM evaluation data (read-only).

The data lives outside the repository (`Settings.routellm_data_dir`, default
`../shared/data/routellm`) and is never copied into it. Two sources are replayable:

- GSM8K (`gsm8k/gsm8k_responses.csv`, `gsm8k/test.jsonl`): each model's full answer text and a
  correct/wrong label against the reference solution, whose final number follows `####`.
- MT-Bench (`mt_bench/question.jsonl`, `mt_bench/judgements.jsonl`), turn 1: each model's full
  answer, taken from inside the GPT-4 judge's input (`user_prompt`), and that judge's text and
  1-10 score.

MMLU is left out: it records only correct/wrong labels, no answer text to replay.
Prompts are indexed by their text with whitespace collapsed. Loading happens once, in a worker
thread, the first time `ReplayData.load` is awaited.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

DEFAULT_DATA_DIR = Path("../shared/data/routellm")
STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mixtral-8x7b-instruct-v0.1"
MODELS = (STRONG_MODEL, WEAK_MODEL)
RECORDED_JUDGE = "recorded-judge"
"""Model id of the judge that answers with the recorded verdicts."""
_COLUMNS = {STRONG_MODEL: "gpt-4-1106-preview", WEAK_MODEL: "mistralai/Mixtral-8x7B-Instruct-v0.1"}
_BY_COLUMN = {column: model for model, column in _COLUMNS.items()}

_ANSWER_START = "[The Start of Assistant's Answer]\n"
_ANSWER_END = "\n[The End of Assistant's Answer]"
_QUESTION = re.compile(r"\[Question\]\n(.*?)\n\n\[The Start of ", re.DOTALL)

Source = Literal["gsm8k", "mt_bench"]
SOURCES: tuple[Source, ...] = ("gsm8k", "mt_bench")
JUDGE_CORRECT_SCORE = 9.0
"""Overall score given to a GSM8K answer labelled correct."""
JUDGE_WRONG_SCORE = 2.0
"""Overall score given to a GSM8K answer labelled wrong."""


class ReplayDataError(Exception):
    """The recordings are missing or not in the expected layout."""


def normalise(text: str) -> str:
    """The index key of a text: Unicode NFC, whitespace runs collapsed to one space, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True, slots=True)
class RecordedVerdict:
    """What the data says about one model's answer to one prompt.

    `kind` "judge": a GPT-4 judge's own `text` and 1-10 `score` (MT-Bench). `kind` "label": a
    correct/wrong label against `reference` (GSM8K); `score` is derived from the label.
    """

    kind: Literal["judge", "label"]
    score: float
    text: str
    correct: bool | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedPrompt:
    id: str
    source: Source
    category: str
    text: str
    answers: dict[str, str]
    """Model id -> that model's recorded answer."""
    verdicts: dict[str, RecordedVerdict]
    """Model id -> the recorded verdict on that answer."""

    def model_of_answer(self, answer: str) -> str | None:
        """Which model recorded this answer (compared after `normalise`), or None."""
        key = normalise(answer)
        for model, text in self.answers.items():
            if normalise(text) == key:
                return model
        return None


@dataclass
class ReplayIndex:
    """Every replayable prompt, by id and by normalised text, in file order."""

    prompts: list[RecordedPrompt]
    by_id: dict[str, RecordedPrompt] = field(default_factory=dict)
    by_text: dict[str, RecordedPrompt] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for prompt in self.prompts:
            self.by_id[prompt.id] = prompt
            self.by_text.setdefault(normalise(prompt.text), prompt)

    def __len__(self) -> int:
        return len(self.prompts)

    def find(self, text: str) -> RecordedPrompt | None:
        return self.by_text.get(normalise(text))

    def search(
        self, *, source: Source | None = None, query: str | None = None, limit: int = 50
    ) -> list[RecordedPrompt]:
        """Prompts of `source` whose text or category contains `query` (case-insensitive)."""
        needle = normalise(query).casefold() if query else ""
        found: list[RecordedPrompt] = []
        for prompt in self.prompts:
            if source is not None and prompt.source != source:
                continue
            if needle and needle not in f"{prompt.category} {normalise(prompt.text)}".casefold():
                continue
            found.append(prompt)
            if len(found) >= limit:
                break
        return found


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ReplayDataError(f"{path}:{number}: not a JSON object")
                yield row


def _require(path: Path) -> Path:
    if not path.is_file():
        raise ReplayDataError(f"missing recordings file {path}")
    return path


def _final_number(solution: str) -> str:
    return solution.rsplit("####", 1)[-1].strip() if "####" in solution else solution.strip()


def load_gsm8k(root: Path) -> list[RecordedPrompt]:
    """GSM8K prompts with both models' answers and correct/wrong labels."""
    references = {
        normalise(str(row["question"])): _final_number(str(row["answer"]))
        for row in _read_jsonl(_require(root / "gsm8k" / "test.jsonl"))
    }
    prompts: list[RecordedPrompt] = []
    path = _require(root / "gsm8k" / "gsm8k_responses.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"prompt", *_COLUMNS.values(), *(f"{c}_response" for c in _COLUMNS.values())}
        missing -= set(reader.fieldnames or ())
        if missing:
            raise ReplayDataError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for number, row in enumerate(reader, start=1):
            text = row["prompt"]
            reference = references.get(normalise(text))
            answers: dict[str, str] = {}
            verdicts: dict[str, RecordedVerdict] = {}
            for column, model in _BY_COLUMN.items():
                answers[model] = row[f"{column}_response"].strip()
                correct = row[column].strip() == "True"
                verdicts[model] = _label_verdict(correct, reference)
            prompts.append(
                RecordedPrompt(
                    id=f"gsm8k-{number:04d}",
                    source="gsm8k",
                    category="math",
                    text=text,
                    answers=answers,
                    verdicts=verdicts,
                )
            )
    return prompts


def _label_verdict(correct: bool, reference: str | None) -> RecordedVerdict:
    ref = reference if reference is not None else "not available"
    label = "correct" if correct else "wrong"
    text = (
        "[reference label, not a model's words] The RouteLLM data labels this answer "
        f"{label}. The GSM8K reference final answer is {ref}."
    )
    return RecordedVerdict(
        kind="label",
        score=JUDGE_CORRECT_SCORE if correct else JUDGE_WRONG_SCORE,
        text=text,
        correct=correct,
        reference=reference,
    )


def extract_answer(user_prompt: str) -> str:
    """The assistant's answer quoted in a single-answer MT-Bench judge prompt (turn 1)."""
    start = user_prompt.find(_ANSWER_START)
    end = user_prompt.rfind(_ANSWER_END)
    if start == -1 or end == -1 or end < start + len(_ANSWER_START):
        raise ReplayDataError("judge prompt without a quoted assistant's answer")
    if user_prompt.count(_ANSWER_START) != 1:
        raise ReplayDataError("judge prompt quoting more than one assistant's answer")
    return user_prompt[start + len(_ANSWER_START) : end]


def load_mt_bench(root: Path) -> list[RecordedPrompt]:
    """MT-Bench turn-1 prompts with both models' answers and the GPT-4 judge's verdicts."""
    questions = {
        int(row["question_id"]): row
        for row in _read_jsonl(_require(root / "mt_bench" / "question.jsonl"))
    }
    answers: dict[int, dict[str, str]] = {}
    verdicts: dict[int, dict[str, RecordedVerdict]] = {}
    for row in _read_jsonl(_require(root / "mt_bench" / "judgements.jsonl")):
        model = _BY_COLUMN.get(str(row.get("model")))
        if row.get("turn") != 1 or model is None:
            continue
        qid = int(row["question_id"])
        user_prompt = str(row["user_prompt"])
        asked = _QUESTION.search(user_prompt)
        question = questions.get(qid)
        if question is None or asked is None:
            raise ReplayDataError(f"judgement for unknown MT-Bench question {qid}")
        if normalise(asked.group(1)) != normalise(str(question["turns"][0])):
            raise ReplayDataError(f"judgement of question {qid} quotes another question")
        answers.setdefault(qid, {})[model] = extract_answer(user_prompt).strip()
        verdicts.setdefault(qid, {})[model] = RecordedVerdict(
            kind="judge", score=float(row["score"]), text=str(row["judgment"]).strip()
        )
    prompts: list[RecordedPrompt] = []
    for qid, question in questions.items():
        if set(answers.get(qid, {})) != set(MODELS):
            continue
        prompts.append(
            RecordedPrompt(
                id=f"mt_bench-{qid}",
                source="mt_bench",
                category=str(question.get("category", "")),
                text=str(question["turns"][0]),
                answers=answers[qid],
                verdicts=verdicts[qid],
            )
        )
    return prompts


def load_index(root: Path) -> ReplayIndex:
    """Read both sources (blocking: call it from a worker thread)."""
    if not root.is_dir():
        raise ReplayDataError(f"the RouteLLM recordings were not found in {root.resolve()}")
    return ReplayIndex([*load_gsm8k(root), *load_mt_bench(root)])


class ReplayData:
    """The recordings under `data_dir`, loaded once on first use without blocking the loop."""

    def __init__(self, data_dir: Path | str = DEFAULT_DATA_DIR) -> None:
        self.data_dir = Path(data_dir)
        self._index: ReplayIndex | None = None
        self._error: ReplayDataError | None = None
        self._lock = asyncio.Lock()

    def present(self) -> bool:
        """The data directory exists (cheap; does not read the files)."""
        return self.data_dir.is_dir()

    @property
    def where(self) -> str:
        return str(self.data_dir.resolve())

    async def load(self) -> ReplayIndex:
        """The index; raises ReplayDataError (every time) when the recordings cannot be read."""
        if self._index is not None:
            return self._index
        async with self._lock:
            if self._index is None and self._error is None:
                try:
                    self._index = await asyncio.to_thread(load_index, self.data_dir)
                except (OSError, ValueError, KeyError) as exc:
                    self._error = (
                        exc
                        if isinstance(exc, ReplayDataError)
                        else ReplayDataError(f"cannot read the recordings in {self.where}: {exc}")
                    )
            if self._error is not None:
                raise self._error
            assert self._index is not None
            return self._index
