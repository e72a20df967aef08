"""What the fake provider answers: deterministic text, revision numbers and judge scores.

Pure functions, no I/O. Every answer states that it comes from a test tool.

Judge requests (the word "rubric" in any message, or a JSON schema with an `overall` property)
get judge scores. Otherwise: offered tools get a call to the first (or the chosen) tool, unless
the last message is a tool result, which is quoted back; a JSON response format gets JSON (an
example of the schema, or an object carrying the text answer).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from orchestratex.testing.fake_provider.options import FakeProviderOptions
from orchestratex.testing.fake_provider.shapes import (
    FakeToolCall,
    OutputShape,
    json_answer,
    planned_tool_calls,
)

PREFIX = "[fake provider: test tool, not a model]"
CRITIQUE_PREFIX = "[fake provider critique]"

_FILLER = (
    " This reply was produced by the OrchestrateX fake provider, a deterministic test double.",
    " Its wording is fixed so that tests can check revision numbers and token usage.",
    " No language model was consulted and the content carries no real information.",
)
_REVISION = re.compile(r"\(revision (\d+)\)")
_UNTRUSTED = re.compile(r"<<<BEGIN UNTRUSTED ([A-Za-z0-9]+)>>>.*?<<<END UNTRUSTED \1>>>", re.DOTALL)
_GIVE = re.compile(
    r"give (?:it |this answer |the answer |a score of )?(10|\d(?:\.\d+)?)", re.IGNORECASE
)


@dataclass(frozen=True)
class Turn:
    """One message of a request, reduced to its role and plain text ("tool" for a tool result)."""

    role: str
    text: str


@dataclass(frozen=True)
class Reply:
    """The planned answer to one request."""

    text: str
    judge: bool
    input_tokens: int
    output_tokens: int
    truncated: bool
    tool_calls: tuple[FakeToolCall, ...] = ()
    logprob: float | None = None
    """Per-token log-probability to report (None: the request did not ask for logprobs)."""


def content_text(content: object) -> str:
    """Plain text of a message content: a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for item in content:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
        return "\n".join(parts)
    return ""


def largest_revision(turns: list[Turn]) -> int | None:
    """The largest K of any `(revision K)` in the messages, or None."""
    found = [int(m) for t in turns for m in _REVISION.findall(t.text)]
    return max(found) if found else None


def is_judge_request(turns: list[Turn], *, structured: bool) -> bool:
    """A judge request asks for a rubric-shaped schema or mentions the rubric (any case)."""
    return structured or any("rubric" in t.text.lower() for t in turns)


def strip_untrusted(text: str) -> str:
    """Remove every properly matched `<<<BEGIN/END UNTRUSTED nonce>>>` block."""
    return _UNTRUSTED.sub("", text)


def injected_score(turns: list[Turn]) -> float | None:
    """The N of a "give N" instruction outside quoted data, as a gullible judge reads it."""
    outside = strip_untrusted("\n".join(t.text for t in turns))
    match = _GIVE.search(outside)
    return _clamp(float(match.group(1))) if match else None


def judge_scores(turns: list[Turn], options: FakeProviderOptions) -> dict[str, object]:
    """The judge's JSON object; overall rises by judge_step per revision."""
    k = largest_revision(turns) or 0
    overall = _clamp(options.judge_base + options.judge_step * k)
    detail = float(math.floor(overall + 0.5))
    scores = dict.fromkeys(("accuracy", "completeness", "clarity", "relevance"), detail)
    scores["overall"] = overall
    if options.gullible and (forced := injected_score(turns)) is not None:
        scores = dict.fromkeys(scores, forced)
    return {
        **scores,
        "critique": f"{CRITIQUE_PREFIX} Revision {k} was scored on a fixed schedule by a test "
        "tool; no model read it.",
        "suggestions": [
            "[fake provider] Add one concrete example.",
            "[fake provider] State the main point first.",
        ],
    }


def answer_text(turns: list[Turn], revision: int) -> str:
    """The text answer (before any max_tokens bound)."""
    last_user = next((t.text for t in reversed(turns) if t.role == "user"), "")
    marker = f" (revision {revision})"
    if "ECHO:" in last_user:
        return PREFIX + last_user.split("ECHO:", 1)[1] + marker
    quoted = last_user[:80]
    return f'{PREFIX} Answer to: "{quoted}"{marker}.' + "".join(_FILLER)


def tokens_for(chars: int) -> int:
    """Token estimate used for usage: one token per four characters, rounded up."""
    return math.ceil(chars / 4)


def plan_reply(
    turns: list[Turn],
    *,
    structured: bool,
    max_tokens: int | None,
    options: FakeProviderOptions,
    bad_judge: bool = False,
    shape: OutputShape | None = None,
    logprob: float | None = None,
) -> Reply:
    """Decide the answer to a request; every answer is cut to max_tokens, as a real provider
    cuts it (a judge's JSON cut short no longer parses)."""
    shape = shape or OutputShape()
    judge = is_judge_request(turns, structured=structured)
    truncated = False
    calls: list[FakeToolCall] = []
    if not judge and turns and turns[-1].role != "tool":
        calls = planned_tool_calls(shape, "\n".join(t.text for t in turns))
    if judge and bad_judge:
        text = f"{PREFIX} This judge reply is prose rather than JSON (badjudge directive)."
    elif judge:
        text = json.dumps(judge_scores(turns, options))
    elif calls:
        text = ""
    elif turns and turns[-1].role == "tool":
        text = f'{PREFIX} The tool returned: "{turns[-1].text[:200]}".'
    elif shape.json_mode:
        previous = largest_revision(turns)
        text = json_answer(shape, answer_text(turns, 0 if previous is None else previous + 1))
    else:
        previous = largest_revision(turns)
        text = answer_text(turns, 0 if previous is None else previous + 1)
    if max_tokens is not None and len(text) > max_tokens * 4:
        text = text[: max(max_tokens, 0) * 4]
        truncated = True
    return Reply(
        text=text,
        judge=judge,
        input_tokens=tokens_for(sum(len(t.text) for t in turns)),
        output_tokens=tokens_for(len(text) + sum(len(c.arguments) + 8 for c in calls)),
        truncated=truncated,
        tool_calls=tuple(calls),
        logprob=logprob,
    )


def split_tokens(text: str) -> list[str]:
    """The fake provider's "tokens": words with their trailing space (joined: the text)."""
    return re.findall(r"\S+\s*|\s+", text)


def split_chunks(text: str, words_per_chunk: int = 6) -> list[str]:
    """Split text into stream pieces of a few words each (joined they give the text back)."""
    pieces = split_tokens(text)
    return [
        "".join(pieces[i : i + words_per_chunk]) for i in range(0, len(pieces), words_per_chunk)
    ] or [""]


def _clamp(value: float) -> float:
    return min(10.0, max(0.0, value))
