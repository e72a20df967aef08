"""The replay adapter (wire protocol "replay"): real recorded answers instead of live calls.

Model ids:
- `gpt-4-1106-preview`, `mixtral-8x7b-instruct-v0.1`: a request whose last user message is a
  recorded prompt gets that model's recorded answer, streamed in small paced pieces. An
  escalation request (the recorded prompt, the OTHER model's recorded answer, reviewer notes)
  gets this model's recorded answer to the same prompt: it was recorded without those notes.
  A revision of the model's own answer was never recorded.
- `recorded-judge`: a judge request whose quoted prompt and answer are recorded gets a rubric
  verdict built from the recording (see `rubric_from_verdict`).

A request's `max_tokens` cuts a recorded answer where the provider would have stopped it (by the
model's own tokenizer, `finish_reason` "length"), so a budget that shrank a call is kept; the
recorded judge then finds no recorded answer to judge. Anything else raises `NotRecordedError`:
nothing is ever made up. Tools and a JSON
`response_format` are refused (`BadRequestError`): the recordings have neither. Token usage
comes from each model's real tokenizer (replay_tokens); cost is the gateway's, from the
catalog prices.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from functools import partial

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import BadRequestError, NotRecordedError
from orchestratex.core.orchestration import RubricScore
from orchestratex.core.types import ChatMessage, CompletionRequest, RawCompletion, TextDelta
from orchestratex.providers.base import AdapterFactory
from orchestratex.providers.capabilities import refused_options
from orchestratex.providers.replay_data import (
    MODELS,
    RECORDED_JUDGE,
    WEAK_MODEL,
    RecordedPrompt,
    RecordedVerdict,
    ReplayData,
    ReplayDataError,
    ReplayIndex,
)
from orchestratex.providers.replay_tokens import Tokenizers, tokenizers

DEFAULT_PACE_S = 0.02
"""Pause between streamed pieces."""
MAX_STREAM_S = 2.0
"""The pauses of one streamed answer add up to at most this."""
_PIECE = re.compile(r"\s*\S+(?:\s+\S+){0,2}")
"""A piece: up to three words with the whitespace before them."""
_QUOTED = re.compile(
    r"<<<BEGIN UNTRUSTED (?P<nonce>[0-9A-Za-z]+)>>>\n(?P<body>.*?)\n<<<END UNTRUSTED (?P=nonce)>>>",
    re.DOTALL,
)
JUDGE_PREFIX = "[recorded GPT-4 judge verdict] "
SUBSCORE_NOTE = (
    " (The recording holds one overall score; accuracy, completeness, clarity and relevance "
    "repeat it.)"
)


def rubric_from_verdict(verdict: RecordedVerdict) -> RubricScore:
    """The rubric verdict of a recording: every score equals the recorded overall score.

    MT-Bench: the GPT-4 judge's own score (1-10) and words, attributed. GSM8K: 9 when the answer
    is labelled correct, 2 when wrong, with a critique marked as a reference label.
    """
    score = min(10.0, max(0.0, verdict.score))
    critique = verdict.text if verdict.kind == "label" else JUDGE_PREFIX + verdict.text
    return RubricScore(
        accuracy=score,
        completeness=score,
        clarity=score,
        relevance=score,
        overall=score,
        critique=critique + SUBSCORE_NOTE,
        suggestions=[],
    )


def is_judge_request(request: CompletionRequest) -> bool:
    return request.purpose == "judge" or request.json_schema is not None


def quoted_blocks(messages: Sequence[ChatMessage]) -> list[str]:
    """The untrusted blocks quoted in the first user message that has any (prompt, answer)."""
    for message in messages:
        if message.role == "user":
            blocks = [m.group("body") for m in _QUOTED.finditer(message.content)]
            if blocks:
                return blocks
    return []


def pieces(text: str) -> list[str]:
    """`text` cut into pieces of a few words each; joined they give `text` back."""
    parts = _PIECE.findall(text)
    rest = text[sum(len(p) for p in parts) :]
    if rest:
        if parts:
            parts[-1] += rest
        else:
            parts.append(rest)
    return parts


class _Replayer:
    """Finds the recording for one request (pure, blocking: runs in a worker thread)."""

    def __init__(self, index: ReplayIndex, tokens: Tokenizers) -> None:
        self.index = index
        self.tokens = tokens

    def not_recorded(self, why: str, model_id: str) -> NotRecordedError:
        return NotRecordedError(
            f"not recorded: {why}. The replay provider only serves the {len(self.index)} "
            "recorded prompts; pick one from /api/demo/prompts",
            model=model_id,
        )

    def answer(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        if model_id == RECORDED_JUDGE:
            text = self._verdict(request).model_dump_json()
            usage = self.tokens.usage("gpt", request.messages, text)
        elif model_id in MODELS:
            text = self._recorded_answer(model_id, request)
            family = "mistral" if model_id == WEAK_MODEL else "gpt"
            usage = self.tokens.usage(family, request.messages, text)
            if usage.output_tokens > request.max_tokens:
                # Cut where the provider would have stopped: a budget's hold counts on it.
                text = self.tokens.first_tokens(family, text, request.max_tokens)
                usage = usage.model_copy(update={"output_tokens": request.max_tokens})
                return RawCompletion(
                    text=text, usage=usage, finish_reason="length", provider_model=model_id
                )
        else:
            raise self.not_recorded(f"there is no recorded model {model_id!r}", model_id)
        return RawCompletion(text=text, usage=usage, provider_model=model_id)

    def _verdict(self, request: CompletionRequest) -> RubricScore:
        if not is_judge_request(request):
            raise self.not_recorded(
                "the recorded judge only answers judge requests", RECORDED_JUDGE
            )
        blocks = quoted_blocks(request.messages)
        if len(blocks) != 2:
            raise self.not_recorded(
                "the judge request does not quote a prompt and an answer", RECORDED_JUDGE
            )
        prompt = self.index.find(blocks[0])
        if prompt is None:
            raise self.not_recorded("the judged prompt is not a recorded prompt", RECORDED_JUDGE)
        model = prompt.model_of_answer(blocks[1])
        if model is None:
            raise self.not_recorded(
                f"the judged answer is not a recorded answer to prompt {prompt.id}", RECORDED_JUDGE
            )
        return rubric_from_verdict(prompt.verdicts[model])

    def _recorded_answer(self, model_id: str, request: CompletionRequest) -> str:
        if is_judge_request(request):
            raise self.not_recorded(
                f"{model_id} never judged in the recordings; the recorded judge does", model_id
            )
        users = [m for m in request.messages if m.role == "user"]
        assistants = [m for m in request.messages if m.role == "assistant"]
        if not users:
            raise self.not_recorded("the request has no user message", model_id)
        if not assistants:
            prompt = self.index.find(users[-1].content)
            if prompt is None:
                raise self.not_recorded("this prompt is not a recorded prompt", model_id)
            return prompt.answers[model_id]
        prompt = self.index.find(users[0].content)
        if prompt is None:
            raise self.not_recorded("this prompt is not a recorded prompt", model_id)
        if not self._is_escalation(prompt, model_id, assistants):
            raise self.not_recorded(
                "only first answers are recorded, not revisions or follow-up turns "
                "(in replay mode improvement escalates to the other model instead)",
                model_id,
            )
        return prompt.answers[model_id]

    @staticmethod
    def _is_escalation(
        prompt: RecordedPrompt, model_id: str, assistants: Sequence[ChatMessage]
    ) -> bool:
        """One earlier answer, and it is another model's recorded answer to the same prompt."""
        if len(assistants) != 1:
            return False
        author = prompt.model_of_answer(assistants[0].content)
        return author is not None and author != model_id


class ReplayAdapter:
    """A `ProviderAdapter` serving the recordings of `data` (see the module docstring)."""

    def __init__(
        self,
        provider: ProviderSpec,
        api_key: str,
        *,
        data: ReplayData | None = None,
        pace_s: float = DEFAULT_PACE_S,
    ) -> None:
        self.provider = provider
        self.data = data if data is not None else ReplayData()
        self.pace_s = pace_s

    async def _replayer(self) -> _Replayer:
        try:
            index = await self.data.load()
        except ReplayDataError as exc:
            raise NotRecordedError(
                f"not recorded: the replay recordings cannot be read ({exc}); set "
                "ORX_ROUTELLM_DATA_DIR to the RouteLLM data folder",
                provider=self.provider.name,
            ) from None
        return _Replayer(index, await asyncio.to_thread(tokenizers))

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        refused = refused_options("replay", request)
        if refused:
            raise BadRequestError(
                "replay mode: " + "; ".join(refused.values()),
                provider=self.provider.name,
                model=model_id,
            )
        replayer = await self._replayer()
        try:
            return await asyncio.to_thread(replayer.answer, model_id, request)
        except NotRecordedError as err:
            err.provider = self.provider.name
            raise

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | RawCompletion]:
        raw = await self.complete(model_id, request)
        parts = pieces(raw.text)
        delay = min(self.pace_s, MAX_STREAM_S / max(1, len(parts)))
        for i, part in enumerate(parts):
            if i and delay > 0:
                await asyncio.sleep(delay)
            yield TextDelta(text=part)
        yield raw

    async def aclose(self) -> None:
        return None


def replay_adapter_factory(data: ReplayData, *, pace_s: float = DEFAULT_PACE_S) -> AdapterFactory:
    """An adapter factory for the gateway that serves the recordings of `data`."""
    return partial(_build, data=data, pace_s=pace_s)


def _build(
    provider: ProviderSpec, api_key: str, *, data: ReplayData, pace_s: float
) -> ReplayAdapter:
    return ReplayAdapter(provider, api_key, data=data, pace_s=pace_s)
