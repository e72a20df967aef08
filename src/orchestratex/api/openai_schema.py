"""The OpenAI chat-completions wire shapes (how a conversation becomes a prompt: `chat_prompt`).

Options OpenAI defines but this service cannot honour (logprobs, logit_bias, n > 1, audio...)
are refused with a 400; other unknown body fields are ignored. `user`, `metadata`, `store` and
`service_tier` are accepted and not used.

The fields read here are typed as strictly as the OpenAI API types them (`"stream": "yes"` is a
400, not true), every list and string has a bound, and message text that cannot be stored or sent
(NUL, unpaired surrogates) is refused like any other invalid field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)

from orchestratex.core.orchestration import MAX_MODEL_KEY_CHARS
from orchestratex.core.text import SafeText, check_text
from orchestratex.core.types import (
    MAX_ARGUMENTS_CHARS,
    MAX_TOOL_CALLS,
    MAX_TOOLS,
    TOOL_NAME_PATTERN,
)

AUTO_MODEL = "orchestratex/auto"
REFINE_MODEL = "orchestratex/refine"
MAX_OUTPUT_TOKENS = 200_000
"""The most output tokens a request may ask for; a model with a lower limit is asked for its own."""
MAX_MESSAGE_CHARS = 1_000_000
"""One message's text; the whole conversation must fit MAX_PROMPT_CHARS (chat_prompt.to_prompt)."""
MAX_MESSAGES = 1000
MAX_CONTENT_PARTS = 100
MAX_PART_TYPE_CHARS = 64


MessageText = Annotated[
    str, StringConstraints(max_length=MAX_MESSAGE_CHARS), AfterValidator(check_text)
]


StrictFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
StrictInt = Annotated[int, Field(strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]
MAX_STOP = 4
"""Stop sequences per request (OpenAI's limit)."""
StopText = Annotated[str, Field(min_length=1, max_length=1000)]


def _null_is_false(value: object) -> object:
    return False if value is None else value


StreamFlag = Annotated[bool, BeforeValidator(_null_is_false)]
"""`stream`: a boolean; `null` (some clients send every unset field so) means false."""


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    type: str = Field(max_length=MAX_PART_TYPE_CHARS)
    text: MessageText | None = None


def _content_kind(value: object) -> str | None:
    if isinstance(value, str):
        return "text"
    return "parts" if isinstance(value, list) else None


class FunctionCallIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    arguments: str = Field(max_length=MAX_ARGUMENTS_CHARS)


class ToolCallIn(BaseModel):
    """A tool call of an earlier assistant turn, as the client sends it back."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    type: Literal["function"] = "function"
    function: FunctionCallIn


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
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=MAX_TOOL_CALLS)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=200)


class FunctionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=20_000)
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class ToolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    function: FunctionIn


class NamedFunction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME_PATTERN)


class NamedToolChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    function: NamedFunction


class JsonSchemaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=20_000)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None


class ResponseFormatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaIn | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The standard body; fields this service has no use for are ignored. Strict types: a JSON
    string is not a boolean or a number here, as in the OpenAI API."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    model: SafeText = Field(min_length=1, max_length=MAX_MODEL_KEY_CHARS)
    messages: list[MessageIn] = Field(max_length=MAX_MESSAGES)
    stream: StreamFlag = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    n: int | None = Field(default=None, ge=1, le=1, description="only one choice is produced")
    top_p: StrictFloat | None = Field(default=None, ge=0.0, le=1.0)
    seed: StrictInt | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    presence_penalty: StrictFloat | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: StrictFloat | None = Field(default=None, ge=-2.0, le=2.0)
    stop: StopText | Annotated[list[StopText], Field(max_length=MAX_STOP)] | None = None
    response_format: ResponseFormatIn | None = None
    tools: list[ToolIn] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    # Defined by OpenAI, not supported here: refused when set to anything but their default.
    logprobs: StrictBool | None = None
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=20)
    logit_bias: dict[str, StrictFloat] | None = Field(default=None, max_length=300)
    functions: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_TOOLS)
    function_call: str | dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = Field(default=None, max_length=4)
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    reasoning_effort: str | None = Field(default=None, max_length=20)

    def unsupported(self) -> list[str]:
        """The OpenAI options set here that this service cannot honour."""
        found = [
            name
            for name in (
                "top_logprobs",
                "functions",
                "function_call",
                "audio",
                "prediction",
                "web_search_options",
                "reasoning_effort",
            )
            if getattr(self, name) is not None
        ]
        if self.logprobs:
            found.append("logprobs")
        if self.logit_bias:
            found.append("logit_bias")
        if self.modalities is not None and self.modalities != ["text"]:
            found.append("modalities")
        return found

    @property
    def stop_list(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop

    @property
    def output_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class ToolCallDeltaOut(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: dict[str, str]


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None


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
    judged: bool = Field(description="whether any judge scored the answer")
    judge_cost_usd: float = Field(description="the part of cost_usd spent on judges")
    replay: bool = Field(description="the answer is a replayed recording, not a live call")


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[Choice]
    usage: Usage
    orchestratex: Extension


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDeltaOut] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    system_fingerprint: str | None = None
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
