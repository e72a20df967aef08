"""OpenAI's legacy text completions (`POST /v1/completions`): the request, the reply shapes, and
the translation to a chat body.

Clients that still speak it (LlamaIndex's `OpenAILike` by default, `litellm.text_completion`,
evaluation harnesses) get what LiteLLM's proxy gives them for a chat model: the prompt becomes one
user message and the chat model's answer is the completion's `text`. One prompt per request (a
string, or a list of one string); token-id prompts, `echo`, `suffix`, `best_of` > 1, `logprobs`
and `n` > 1 are a 400 naming them. `max_tokens` defaults to 16, as the legacy API's does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestratex.api.openai_errors import bad_request, not_supported
from orchestratex.api.openai_schema import (
    MAX_MESSAGE_CHARS,
    MAX_OUTPUT_TOKENS,
    MAX_STOP,
    ChatCompletionRequest,
    Extension,
    StopText,
    StreamFlag,
    StreamOptions,
    StrictBool,
    StrictFloat,
    StrictInt,
    Usage,
)
from orchestratex.core.orchestration import MAX_MODEL_KEY_CHARS
from orchestratex.core.text import SafeText

LEGACY_DEFAULT_TOKENS = 16
"""The legacy API's own default `max_tokens`."""

PromptText = Annotated[SafeText, Field(max_length=MAX_MESSAGE_CHARS)]


class CompletionRequest(BaseModel):
    """The legacy body; fields this service has no use for are ignored, as on chat."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    model: SafeText = Field(min_length=1, max_length=MAX_MODEL_KEY_CHARS)
    prompt: PromptText | list[PromptText] | list[int] | list[list[int]]
    stream: StreamFlag = False
    stream_options: StreamOptions | None = None
    max_tokens: StrictInt | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: StrictFloat | None = Field(default=None, ge=0.0, le=2.0)
    top_p: StrictFloat | None = Field(default=None, ge=0.0, le=1.0)
    n: StrictInt | None = Field(default=None, ge=1, le=1)
    seed: StrictInt | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    presence_penalty: StrictFloat | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: StrictFloat | None = Field(default=None, ge=-2.0, le=2.0)
    stop: StopText | Annotated[list[StopText], Field(max_length=MAX_STOP)] | None = None
    user: SafeText | None = Field(default=None, max_length=512)
    # Defined by OpenAI, not supported here: refused when set to anything but their default.
    echo: StrictBool | None = None
    suffix: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    best_of: StrictInt | None = Field(default=None, ge=1)
    logprobs: StrictInt | None = Field(default=None, ge=0, le=5)
    logit_bias: dict[str, StrictFloat] | None = Field(default=None, max_length=300)

    def unsupported(self) -> list[str]:
        found = []
        if self.echo:
            found.append("echo")
        if self.suffix:
            found.append("suffix")
        if self.best_of not in (None, 1):
            found.append("best_of")
        if self.logprobs:
            found.append("logprobs")
        if self.logit_bias:
            found.append("logit_bias")
        return found

    def text(self) -> str:
        """The one prompt's text (a 400 for several prompts or token ids)."""
        prompt = self.prompt
        if isinstance(prompt, str):
            return prompt
        if len(prompt) == 1 and isinstance(prompt[0], str):
            return prompt[0]
        if prompt and all(isinstance(p, str) for p in prompt):
            raise bad_request("one prompt per request: send each as its own request", "prompt")
        raise bad_request("prompt: token ids are not supported; send text", param="prompt")


def to_chat_body(body: CompletionRequest) -> ChatCompletionRequest:
    """The chat body that asks the same model for the same text."""
    unsupported = body.unsupported()
    if unsupported:
        raise not_supported(unsupported)
    chat: dict[str, Any] = {
        "model": body.model,
        "messages": [{"role": "user", "content": body.text()}],
        "stream": body.stream,
        "max_tokens": body.max_tokens or LEGACY_DEFAULT_TOKENS,
    }
    if body.stream_options is not None:
        chat["stream_options"] = body.stream_options.model_dump()
    for name in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty", "stop"):
        if getattr(body, name) is not None:
            chat[name] = getattr(body, name)
    return ChatCompletionRequest.model_validate(chat)


class TextChoice(BaseModel):
    text: str
    index: int = 0
    logprobs: None = None
    finish_reason: str | None


class TextCompletion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[TextChoice]
    usage: Usage | None = None
    orchestratex: Extension | None = None
