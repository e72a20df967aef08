"""The OpenAI Responses request (`POST /v1/responses`), and its translation to a chat body.

A Responses body is translated to the equivalent chat-completions body and planned exactly as
/v1/chat/completions plans it (`openai_request.plan`), so the three client APIs run the same
models with the same options and gates:
- `instructions` becomes the first system message; `input` (a string: one user message; or a
  list of items) becomes the conversation: `message` items (roles user, system, developer,
  assistant; content a string or `input_text` / `output_text` parts), `function_call` items
  (joined to the assistant turn they follow, as chat's `tool_calls`) and `function_call_output`
  items (chat's `tool` messages);
- `max_output_tokens` is `max_tokens`; `temperature`, `top_p`, `parallel_tool_calls`, function
  `tools` and `tool_choice` map one to one; `text.format` (`json_object`, `json_schema`) is the
  chat `response_format`.
`metadata`, `user`, `store`, `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`,
`service_tier`, `stream_options` and `max_tool_calls` are accepted and not used (every run is
stored as a thread of the caller whatever `store` says). `previous_response_id` names an
earlier response of the caller to continue from (`responses_chain`). What needs state or tools
this service does not have (`conversation`, `background`, `prompt`, `include`,
`reasoning`, built-in tools, non-text content, `truncation: "auto"`...) is a 400 naming it.
Other unknown fields are ignored, as on /v1/chat/completions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestratex.api.openai_errors import OpenAIError, bad_request, not_supported
from orchestratex.api.openai_schema import (
    MAX_CONTENT_PARTS,
    MAX_MESSAGES,
    MAX_OUTPUT_TOKENS,
    MAX_PART_TYPE_CHARS,
    ChatCompletionRequest,
    ContentPart,
    MessageText,
    StreamFlag,
    StrictBool,
    StrictFloat,
)
from orchestratex.core.orchestration import MAX_MODEL_KEY_CHARS, MAX_PROMPT_CHARS
from orchestratex.core.text import SafeText
from orchestratex.core.types import MAX_ARGUMENTS_CHARS, MAX_TOOLS, TOOL_NAME_PATTERN

Parts = Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS)]
TEXT_PARTS = ("input_text", "output_text")
"""Content part types read as text (`output_text`: an earlier answer sent back as input)."""
CHAT_NAMES = {
    "messages": "input",
    "max_tokens": "max_output_tokens",
    "response_format": "text.format",
}
"""Chat-completions fields and the Responses fields they came from, for error messages."""
ItemId = Annotated[str, Field(min_length=1, max_length=200)]
MetadataText = Annotated[SafeText, Field(max_length=512)]


class InputItem(BaseModel):
    """One item of `input`; which fields apply depends on `type` (a message when absent)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: str | None = Field(default=None, max_length=MAX_PART_TYPE_CHARS)
    role: Literal["user", "system", "developer", "assistant"] | None = None
    content: MessageText | Parts | None = None
    call_id: ItemId | None = None
    name: str | None = Field(default=None, pattern=TOOL_NAME_PATTERN)
    arguments: str | None = Field(default=None, max_length=MAX_ARGUMENTS_CHARS)
    output: MessageText | Parts | None = None


class ToolIn(BaseModel):
    """A tool; only `function` tools are served (built-in ones are refused by type)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    type: str = Field(max_length=MAX_PART_TYPE_CHARS)
    name: str | None = Field(default=None, pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=20_000)
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class ToolChoiceIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    type: str = Field(max_length=MAX_PART_TYPE_CHARS)
    name: str | None = Field(default=None, pattern=TOOL_NAME_PATTERN)


class FormatIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = Field(default=None, pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=20_000)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: StrictBool | None = None


class TextConfig(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    format: FormatIn | None = None
    verbosity: str | None = Field(default=None, max_length=20)


class ResponsesRequest(BaseModel):
    """The body of POST /v1/responses. Strict types, as in the OpenAI API."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)

    model: SafeText = Field(min_length=1, max_length=MAX_MODEL_KEY_CHARS)
    input: MessageText | Annotated[list[InputItem], Field(max_length=MAX_MESSAGES)]
    instructions: MessageText | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    stream: StreamFlag = False
    max_output_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: StrictFloat | None = Field(default=None, ge=0.0, le=2.0)
    top_p: StrictFloat | None = Field(default=None, ge=0.0, le=1.0)
    tools: list[ToolIn] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceIn | None = None
    parallel_tool_calls: StrictBool | None = None
    text: TextConfig | None = None
    # Accepted, not used.
    metadata: dict[Annotated[str, Field(max_length=64)], MetadataText] | None = Field(
        default=None, max_length=16
    )
    user: SafeText | None = Field(default=None, max_length=512)
    store: StrictBool | None = None
    safety_identifier: str | None = Field(default=None, max_length=512)
    prompt_cache_key: str | None = Field(default=None, max_length=512)
    prompt_cache_retention: str | None = Field(default=None, max_length=20)
    service_tier: str | None = Field(default=None, max_length=20)
    stream_options: dict[str, Any] | None = None
    max_tool_calls: int | None = Field(default=None, ge=1)
    previous_response_id: str | None = Field(default=None, max_length=200)
    """Continue from an earlier response of the caller (`responses_chain`)."""
    # Defined by OpenAI, not supported here: refused when set to anything but their default.
    conversation: str | dict[str, Any] | None = None
    background: StrictBool | None = None
    prompt: dict[str, Any] | None = None
    include: list[str] | None = Field(default=None, max_length=20)
    reasoning: dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    context_management: list[Any] | None = Field(default=None, max_length=20)
    moderation: dict[str, Any] | None = None

    def unsupported(self) -> list[str]:
        """The options set here that this service cannot honour."""
        found = [
            name
            for name in (
                "conversation",
                "prompt",
                "top_logprobs",
                "context_management",
                "moderation",
            )
            if getattr(self, name) is not None
        ]
        if self.background:
            found.append("background")
        if self.include:
            found.append("include")
        if self.reasoning and any(v is not None for v in self.reasoning.values()):
            found.append("reasoning")
        if self.truncation == "auto":
            found.append("truncation")
        if self.text is not None and self.text.verbosity is not None:
            found.append("text.verbosity")
        found += [
            f"tools[{index}] of type {tool.type!r}"
            for index, tool in enumerate(self.tools or [])
            if tool.type != "function"
        ]
        choice = self.tool_choice
        if isinstance(choice, ToolChoiceIn) and choice.type != "function":
            found.append(f"tool_choice of type {choice.type!r}")
        return found


def _text(content: str | list[ContentPart] | None, where: str) -> str | list[dict[str, str]]:
    """String content as is; text parts as chat's text parts; other parts are refused."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.type not in TEXT_PARTS or part.text is None:
            raise bad_request(f"{where}: only text content is supported", param="input")
        parts.append({"type": "text", "text": part.text})
    return parts


def _needs(item: InputItem, where: str, *names: str) -> None:
    missing = [name for name in names if getattr(item, name) is None]
    if missing:
        raise bad_request(f"{where}: a {item.type} item needs {', '.join(missing)}", "input")


def _messages(body: ResponsesRequest, earlier: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as chat-completions messages, `earlier` turns after the instructions."""
    out: list[dict[str, Any]] = []
    if body.instructions:
        out.append({"role": "system", "content": body.instructions})
    out += earlier
    if isinstance(body.input, str):
        out.append({"role": "user", "content": body.input})
        return out
    for index, item in enumerate(body.input):
        where = f"input[{index}]"
        kind = item.type or "message"
        if kind == "message":
            if item.role is None:
                raise bad_request(f"{where}: a message item needs a role", param="input")
            out.append({"role": item.role, "content": _text(item.content, where)})
        elif kind == "function_call":
            _needs(item, where, "call_id", "name", "arguments")
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            if not out or out[-1]["role"] != "assistant":
                out.append({"role": "assistant", "content": None})
            out[-1].setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            _needs(item, where, "call_id", "output")
            content = _text(item.output, where)
            out.append({"role": "tool", "tool_call_id": item.call_id, "content": content})
        else:
            raise bad_request(
                f"{where}: items of type {kind!r} are not supported by this service", "input"
            )
    return out


def _format(text: TextConfig | None) -> dict[str, Any] | None:
    fmt = text.format if text is not None else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    if fmt.name is None or fmt.schema_ is None:
        raise bad_request("text.format json_schema needs a name and a schema", param="text")
    spec: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema_, "strict": fmt.strict}
    if fmt.description is not None:
        spec["description"] = fmt.description
    return {"type": "json_schema", "json_schema": spec}


def _tool_choice(choice: str | ToolChoiceIn | None) -> str | dict[str, Any] | None:
    if not isinstance(choice, ToolChoiceIn):
        return choice
    if choice.name is None:
        raise bad_request("tool_choice of type 'function' needs a name", param="tool_choice")
    return {"type": "function", "function": {"name": choice.name}}


def to_chat_body(
    body: ResponsesRequest, earlier: list[dict[str, Any]] | None = None
) -> ChatCompletionRequest:
    """The chat-completions body that asks for the same thing (see the module docstring);
    `earlier`: the turns `previous_response_id` brings, before `input`."""
    unsupported = body.unsupported()
    if unsupported:
        raise not_supported(unsupported)
    messages = _messages(body, earlier or [])
    if len(messages) > MAX_MESSAGES:
        counted = (
            "`instructions` and the previous response's turns" if earlier else "`instructions`"
        )
        raise bad_request(f"input: at most {MAX_MESSAGES} messages, {counted} counted", "input")
    chat: dict[str, Any] = {"model": body.model, "messages": messages, "stream": body.stream}
    if body.max_output_tokens is not None:
        chat["max_tokens"] = body.max_output_tokens
    for name in ("temperature", "top_p", "parallel_tool_calls"):
        if getattr(body, name) is not None:
            chat[name] = getattr(body, name)
    if body.tools:
        chat["tools"] = [{"type": "function", "function": _function(tool)} for tool in body.tools]
    choice = _tool_choice(body.tool_choice)
    if choice is not None:
        chat["tool_choice"] = choice
    fmt = _format(body.text)
    if fmt is not None:
        chat["response_format"] = fmt
    return ChatCompletionRequest.model_validate(chat)


def _function(tool: ToolIn) -> dict[str, Any]:
    if tool.name is None:
        raise bad_request("a function tool needs a name", param="tools")
    function: dict[str, Any] = {"name": tool.name}
    for name in ("description", "parameters", "strict"):
        if getattr(tool, name) is not None:
            function[name] = getattr(tool, name)
    return function


def in_responses_terms(error: OpenAIError) -> OpenAIError:
    """`error`, raised while planning the translated chat body, naming the Responses field the
    caller sent instead of the chat field it became (`input`, not `messages`)."""
    for chat, ours in CHAT_NAMES.items():
        if error.param == chat:
            error.param = ours
        if error.message.startswith(chat):
            error.message = ours + error.message.removeprefix(chat)
    return error
