"""The OpenAI chat-completions wire shapes, and how a conversation becomes one run.

How a conversation becomes one orchestration request (kept simple on purpose):
- `system` and `developer` messages, joined by blank lines, become the request's `system`;
- the last message must come from the user: its text is the prompt;
- earlier user/assistant/tool turns, if any, are put before that text as a labelled transcript,
  so analysis, the answering model and the judges all see the same context.
Unknown body fields are ignored; `temperature` is accepted but the engine does not use it.

The fields read here are typed as strictly as the OpenAI API types them (`"stream": "yes"` is a
400, not true), every list and string has a bound, and message text that cannot be stored or sent
(NUL, unpaired surrogates) is refused like any other invalid field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from orchestratex.api.openai_errors import bad_request
from orchestratex.core.orchestration import MAX_MODEL_KEY_CHARS, MAX_PROMPT_CHARS
from orchestratex.core.text import SafeText, check_text

AUTO_MODEL = "orchestratex/auto"
REFINE_MODEL = "orchestratex/refine"
MAX_OUTPUT_TOKENS = 32_000
MAX_MESSAGE_CHARS = 1_000_000
"""One message's text; the whole conversation must fit MAX_PROMPT_CHARS (checked in to_prompt)."""
MAX_MESSAGES = 1000
MAX_CONTENT_PARTS = 100
MAX_PART_TYPE_CHARS = 64


MessageText = Annotated[
    str, StringConstraints(max_length=MAX_MESSAGE_CHARS), AfterValidator(check_text)
]


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    type: str = Field(max_length=MAX_PART_TYPE_CHARS)
    text: MessageText | None = None


def _content_kind(value: object) -> str | None:
    if isinstance(value, str):
        return "text"
    return "parts" if isinstance(value, list) else None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: (
        Annotated[
            Annotated[MessageText, Tag("text")]
            | Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS), Tag("parts")],
            Discriminator(
                _content_kind,
                custom_error_type="invalid_content",
                custom_error_message="content must be a string, a list of parts or null",
            ),
        ]
        | None
    ) = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The standard body; fields this service has no use for are ignored. Strict types: a JSON
    string is not a boolean or a number here, as in the OpenAI API."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    model: SafeText = Field(min_length=1, max_length=MAX_MODEL_KEY_CHARS)
    messages: list[MessageIn] = Field(max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    n: int | None = Field(default=None, ge=1, le=1, description="only one choice is produced")

    @property
    def output_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


def _text(message: MessageIn, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts: list[str] = []
    for part in message.content:
        if part.type != "text" or part.text is None:
            raise bad_request(
                f"messages[{index}]: only text content is supported", param="messages"
            )
        parts.append(part.text)
    return "\n".join(parts)


def to_prompt(messages: list[MessageIn]) -> tuple[str, str | None]:
    """(prompt, system) for a conversation, as described in the module docstring."""
    if not messages:
        raise bad_request("messages must not be empty", param="messages")
    if messages[-1].role != "user":
        raise bad_request("the last message must have the role 'user'", param="messages")
    system: list[str] = []
    transcript: list[str] = []
    for index, message in enumerate(messages[:-1]):
        text = _text(message, index)
        if message.role in ("system", "developer"):
            if text:
                system.append(text)
        elif text:
            transcript.append(f"[{message.role}]\n{text}")
    current = _text(messages[-1], len(messages) - 1)
    if not current.strip():
        raise bad_request("the last user message is empty", param="messages")
    prompt = current
    if transcript:
        prompt = (
            "Earlier conversation:\n\n"
            + "\n\n".join(transcript)
            + "\n\nCurrent message:\n\n"
            + current
        )
    system_text = "\n\n".join(system) or None
    if len(prompt) > MAX_PROMPT_CHARS or len(system_text or "") > MAX_PROMPT_CHARS:
        raise bad_request(
            f"the conversation is longer than {MAX_PROMPT_CHARS} characters", param="messages"
        )
    return prompt, system_text


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Extension(BaseModel):
    """What the orchestration did, beyond the standard fields."""

    thread_id: str
    selected_model: str | None
    score: float | None
    rounds: int
    best_round: int | None
    stop_reason: str
    cost_usd: float


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    orchestratex: Extension


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    orchestratex: Extension | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
