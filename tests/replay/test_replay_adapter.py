"""The replay adapter through the real gateway: recorded answers, recorded verdicts, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestratex.core.errors import NotRecordedError
from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.core.types import ChatMessage, Completion, CompletionRequest, TextDelta
from orchestratex.engine.generation import revise_messages
from orchestratex.engine.rubric import judge_request, parse_rubric
from orchestratex.providers.gateway import Gateway
from orchestratex.providers.replay import JUDGE_PREFIX, pieces, replay_adapter_factory
from orchestratex.providers.replay_catalog import replay_catalog
from orchestratex.providers.replay_data import (
    RECORDED_JUDGE,
    STRONG_MODEL,
    WEAK_MODEL,
    RecordedPrompt,
    ReplayData,
    ReplayIndex,
)
from orchestratex.providers.replay_tokens import tokenizers


def ask(text: str) -> CompletionRequest:
    return CompletionRequest(messages=[ChatMessage(role="user", content=text)])


@pytest.fixture
async def gateway(replay_data: ReplayData) -> AsyncIterator[Gateway]:
    factories = {"replay": replay_adapter_factory(replay_data, pace_s=0.0)}
    gw = Gateway(replay_catalog(), env={}, adapter_factories=factories)
    yield gw
    await gw.aclose()


def gsm8k_split(index: ReplayIndex) -> RecordedPrompt:
    """A GSM8K prompt that GPT-4 got right and Mixtral wrong."""
    return next(
        p
        for p in index.prompts
        if p.source == "gsm8k"
        and p.verdicts[STRONG_MODEL].correct
        and not p.verdicts[WEAK_MODEL].correct
    )


@pytest.mark.parametrize("prompt_id", ["gsm8k-0001", "mt_bench-81", "mt_bench-120"])
@pytest.mark.parametrize("model", [STRONG_MODEL, WEAK_MODEL])
async def test_recorded_prompt_gets_the_models_recorded_answer(
    gateway: Gateway, index: ReplayIndex, prompt_id: str, model: str
) -> None:
    prompt = index.by_id[prompt_id]
    done = await gateway.complete(model, ask(prompt.text))
    assert done.text == prompt.answers[model]
    assert done.model == model
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    assert done.cost_known and done.cost_usd > 0


async def test_stream_yields_pieces_that_join_to_the_recorded_answer(
    gateway: Gateway, index: ReplayIndex
) -> None:
    prompt = index.by_id["mt_bench-81"]
    deltas: list[str] = []
    final: Completion | None = None
    async for part in gateway.stream(STRONG_MODEL, ask(prompt.text)):
        if isinstance(part, TextDelta):
            deltas.append(part.text)
        elif isinstance(part, Completion):
            final = part
    assert final is not None and len(deltas) > 10
    assert "".join(deltas) == final.text == prompt.answers[STRONG_MODEL]


def test_pieces_keep_every_character() -> None:
    text = "  one two three four\n\nfive  six seven \n"
    assert "".join(pieces(text)) == text
    assert len(pieces(text)) == 3


async def test_mt_bench_verdict_is_the_recorded_gpt4_judgement(
    gateway: Gateway, index: ReplayIndex
) -> None:
    prompt = index.by_id["mt_bench-81"]
    recorded = prompt.verdicts[WEAK_MODEL]
    done = await gateway.complete(
        RECORDED_JUDGE, judge_request(prompt.text, prompt.answers[WEAK_MODEL])
    )
    verdict = parse_rubric(done.text)
    assert verdict.overall == recorded.score
    assert verdict.accuracy == verdict.completeness == verdict.clarity == recorded.score
    assert verdict.critique.startswith(JUDGE_PREFIX + recorded.text)
    assert done.cost_usd == 0.0 and done.cost_known


async def test_gsm8k_verdict_follows_the_label(gateway: Gateway, index: ReplayIndex) -> None:
    prompt = gsm8k_split(index)
    reference = prompt.verdicts[STRONG_MODEL].reference
    assert reference
    right = parse_rubric(
        (
            await gateway.complete(
                RECORDED_JUDGE, judge_request(prompt.text, prompt.answers[STRONG_MODEL])
            )
        ).text
    )
    wrong = parse_rubric(
        (
            await gateway.complete(
                RECORDED_JUDGE, judge_request(prompt.text, prompt.answers[WEAK_MODEL])
            )
        ).text
    )
    assert right.overall == 9.0 and wrong.overall == 2.0
    for verdict in (right, wrong):
        assert verdict.critique.startswith("[reference label, not a model's words]")
        assert f"reference final answer is {reference}" in verdict.critique
    assert "labels this answer wrong" in wrong.critique


async def test_unrecorded_requests_raise_not_recorded(gateway: Gateway, index: ReplayIndex) -> None:
    prompt = index.by_id["gsm8k-0001"]
    with pytest.raises(NotRecordedError, match=r"only serves the 1399 recorded prompts"):
        await gateway.complete(STRONG_MODEL, ask("What is the capital of France?"))
    with pytest.raises(NotRecordedError, match="not a recorded answer"):
        await gateway.complete(RECORDED_JUDGE, judge_request(prompt.text, "It is 17."))
    with pytest.raises(NotRecordedError, match="only answers judge requests"):
        await gateway.complete(RECORDED_JUDGE, ask(prompt.text))
    with pytest.raises(NotRecordedError, match="never judged"):
        await gateway.complete(WEAK_MODEL, judge_request(prompt.text, prompt.answers[STRONG_MODEL]))


async def test_revision_is_not_recorded_but_escalation_is(
    gateway: Gateway, index: ReplayIndex
) -> None:
    prompt = gsm8k_split(index)
    request = OrchestrationRequest(prompt=prompt.text)

    def follow_up(previous: str, *, escalate: bool) -> CompletionRequest:
        messages = revise_messages(request, previous, [], 2.0, escalate=escalate)
        return CompletionRequest(messages=messages, purpose="revise")

    with pytest.raises(NotRecordedError, match="not revisions"):
        await gateway.complete(WEAK_MODEL, follow_up(prompt.answers[WEAK_MODEL], escalate=False))
    escalated = await gateway.complete(
        STRONG_MODEL, follow_up(prompt.answers[WEAK_MODEL], escalate=True)
    )
    assert escalated.text == prompt.answers[STRONG_MODEL]


async def test_missing_recordings_say_where_to_look(tmp_path: Path) -> None:
    data = ReplayData(tmp_path / "absent")
    gw = Gateway(
        replay_catalog(), env={}, adapter_factories={"replay": replay_adapter_factory(data)}
    )
    with pytest.raises(NotRecordedError, match="ORX_ROUTELLM_DATA_DIR"):
        await gw.complete(STRONG_MODEL, ask("hi"))
    await gw.aclose()


def test_token_counts_come_from_the_real_tokenizers() -> None:
    tokens = tokenizers()
    # OpenAI's cookbook: "tiktoken is great!" is 6 tokens in cl100k_base.
    assert tokens.gpt4_text("tiktoken is great!") == 6
    # Mistral v1 SentencePiece: "hello world" is "▁hell", "o", "▁world".
    assert tokens.mixtral_text("hello world") == 3
    # <s> ▁[INST] ▁hello ▁world ▁[/INST]: 1 + 3 + 3 + 4 tokens.
    assert tokens.mixtral_chat([ChatMessage(role="user", content="hello world")]) == 11
    # GPT-4 chat: 3 per message + role + content, plus 3 to prime the reply.
    assert tokens.gpt4_chat([ChatMessage(role="user", content="hello world")]) == 3 + 1 + 2 + 3


async def test_usage_is_counted_by_each_models_tokenizer(
    gateway: Gateway, index: ReplayIndex
) -> None:
    prompt = index.by_id["gsm8k-0001"]
    tokens = tokenizers()
    gpt = await gateway.complete(STRONG_MODEL, ask(prompt.text))
    mix = await gateway.complete(WEAK_MODEL, ask(prompt.text))
    assert gpt.usage.output_tokens == tokens.gpt4_text(prompt.answers[STRONG_MODEL])
    assert mix.usage.output_tokens == tokens.mixtral_text(prompt.answers[WEAK_MODEL])
    assert mix.usage.input_tokens == tokens.mixtral_chat(ask(prompt.text).messages)
    price = replay_catalog().price(STRONG_MODEL)
    assert price is not None
    expected = (
        gpt.usage.input_tokens * price.input_per_mtok
        + gpt.usage.output_tokens * price.output_per_mtok
    ) / 1e6
    assert gpt.cost_usd == pytest.approx(expected)


@pytest.mark.parametrize("model", [STRONG_MODEL, WEAK_MODEL])
async def test_max_tokens_cuts_the_recorded_answer_where_a_provider_would(
    gateway: Gateway, index: ReplayIndex, model: str
) -> None:
    prompt = index.by_id["mt_bench-81"]
    request = ask(prompt.text).model_copy(update={"max_tokens": 20})
    whole = await gateway.complete(model, ask(prompt.text))
    cut = await gateway.complete(model, request)
    assert whole.usage.output_tokens > 20 and whole.finish_reason == "stop"
    assert cut.finish_reason == "length" and cut.usage.output_tokens == 20
    assert 0 < len(cut.text) < len(whole.text)
    assert prompt.answers[model].startswith(cut.text.rstrip())
    assert cut.cost_usd < whole.cost_usd
    streamed = [p async for p in gateway.stream(model, request)]
    assert "".join(p.text for p in streamed if isinstance(p, TextDelta)) == cut.text
