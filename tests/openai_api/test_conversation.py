"""How a chat-completions conversation becomes a prompt and a system text."""

from __future__ import annotations

import pytest

from orchestratex.api.chat_prompt import to_prompt
from orchestratex.api.openai_errors import OpenAIError
from orchestratex.api.openai_schema import ChatCompletionRequest, MessageIn


def _messages(*pairs: tuple[str, object]) -> list[MessageIn]:
    return [MessageIn.model_validate({"role": r, "content": c}) for r, c in pairs]


def test_single_user_message_is_the_prompt() -> None:
    assert to_prompt(_messages(("user", "hello"))) == ("hello", None)


def test_system_and_developer_messages_become_the_system_text() -> None:
    prompt, system = to_prompt(
        _messages(("system", "Be terse."), ("developer", "Use metric units."), ("user", "hi"))
    )
    assert prompt == "hi"
    assert system == "Be terse.\n\nUse metric units."


def test_earlier_turns_form_a_transcript_before_the_current_message() -> None:
    prompt, _ = to_prompt(
        _messages(
            ("user", "What is 2+2?"),
            ("assistant", "4"),
            ("tool", "calculator: 4"),
            ("user", [{"type": "text", "text": "And"}, {"type": "text", "text": "times 3?"}]),
        )
    )
    assert prompt == (
        "Earlier conversation:\n\n[user]\nWhat is 2+2?\n\n[assistant]\n4\n\n"
        "[tool]\ncalculator: 4\n\nCurrent message:\n\nAnd\ntimes 3?"
    )


def test_an_assistant_turn_may_end_it_when_allowed_and_is_labelled_as_begun() -> None:
    pairs = (("user", "Name a prime."), ("assistant", "The first prime is"))
    prompt, _ = to_prompt(_messages(*pairs), any_ending=True)
    assert prompt == (
        "Earlier conversation:\n\n[user]\nName a prime.\n\n"
        "Answer begun, to continue:\n\nThe first prime is"
    )


def test_a_named_model_takes_a_system_only_or_empty_ending_conversation() -> None:
    assert to_prompt(_messages(("system", "Greet the user.")), any_ending=True) == (
        "Greet the user.",
        None,
    )
    prompt, _ = to_prompt(_messages(("user", "hi"), ("user", "")), any_ending=True)
    assert prompt.endswith("Current message:\n\n[an empty message]")
    assert to_prompt(_messages(("user", "")), any_ending=True)[0] == "[an empty message]"


@pytest.mark.parametrize(
    "pairs",
    [
        (),
        (("assistant", "hi"),),
        (("user", "   "),),
        (("user", [{"type": "image_url", "image_url": {"url": "x"}}]),),
        (("user", "x" * 100_001),),
    ],
)
def test_unusable_conversations_are_400(pairs: tuple[tuple[str, object], ...]) -> None:
    with pytest.raises(OpenAIError) as caught:
        to_prompt(_messages(*pairs))
    assert caught.value.status == 400
    assert caught.value.body()["error"]["type"] == "invalid_request_error"
    assert "x" * 100 not in caught.value.message


def test_unknown_fields_are_ignored_and_token_limits_resolved() -> None:
    body = ChatCompletionRequest.model_validate(
        {
            "model": "orchestratex/auto",
            "messages": [{"role": "user", "content": "hi", "name": "bob"}],
            "max_tokens": 50,
            "max_completion_tokens": 70,
            "logit_bias": {"1": 2},
            "stream_options": {"include_usage": True},
        }
    )
    assert body.output_tokens == 70
    assert body.include_usage is True
