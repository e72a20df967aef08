"""The Anthropic Messages wire shapes, and their translation to a chat-completions body.

A Messages request is translated to the equivalent chat-completions body and planned exactly
as /v1/chat/completions plans it (`openai_request.plan`), so both APIs run the same models with
the same options: `system` becomes a system message, `tool_use` blocks become assistant tool
calls, `tool_result` blocks become tool messages, `stop_sequences` become `stop`,
`output_config.format` becomes a JSON-schema `response_format`, tools and `tool_choice` map one
to one (`any` is `required`, `disable_parallel_tool_use` is `parallel_tool_calls: false`).
Options with no equivalent here (`top_k`, `thinking`, images, documents, ...) are refused with a
400 naming them, unless their value asks for nothing: see `OFF_VALUES`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestratex.api.openai_errors import bad_request, not_supported
from orchestratex.api.openai_schema import (
    MAX_OUTPUT_TOKENS,
    MAX_STOP,
    ChatCompletionRequest,
    StreamFlag,
)
from orchestratex.core.invalid import described
from orchestratex.core.types import MAX_TOOLS, TOOL_NAME_PATTERN

StrictFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
StopText = Annotated[str, Field(min_length=1, max_length=1000)]


class Block(BaseModel):
    """One content block; which fields apply depends on `type`."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=100)
    text: str | None = None
    id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    input: dict[str, Any] | None = None
    tool_use_id: str | None = Field(default=None, max_length=200)
    content: str | list[Block] | None = None
    is_error: bool | None = None


MAX_BLOCKS = 1000
Blocks = Annotated[list[Block], Field(max_length=MAX_BLOCKS)]
"""At most this many blocks in one turn; a string turn is bounded by the body size alone."""


class MessageParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str | Blocks


class ToolParam(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=20_000)
    input_schema: dict[str, Any]
    type: Literal["custom"] | None = None


class ToolChoiceParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = Field(default=None, pattern=TOOL_NAME_PATTERN)
    disable_parallel_tool_use: bool | None = None


class OutputFormat(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: OutputFormat | None = None
    effort: str | None = Field(default=None, max_length=20)


OFF_VALUES: dict[str, tuple[object, ...]] = {
    "top_k": (None,),
    "thinking": (None, {"type": "disabled"}),
    "container": (None,),
    "mcp_servers": (None, []),
    "context_management": (None,),
    "inference_geo": (None,),
    "speed": (None, "standard"),
}
"""Options this service cannot honour, each with the values that ask for nothing: absent, null,
the API's default or an explicit "off" (`thinking: {"type": "disabled"}`, `mcp_servers: []`).
Those are accepted; any other value is a 400 naming the option. (`service_tier` has only
values that ask for nothing here, `"auto"` and `"standard_only"`: there is no priority tier.)"""
EFFORT_DEFAULT = "high"
"""The Messages API's `output_config.effort` when none is sent; only it is accepted."""


class MessagesInput(BaseModel):
    """What POST /v1/messages and /v1/messages/count_tokens both read: the model's input."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[MessageParam] = Field(min_length=1, max_length=1000)
    system: str | list[Block] | None = None
    stop_sequences: list[StopText] | None = Field(default=None, max_length=MAX_STOP)
    temperature: StrictFloat | None = Field(default=None, ge=0.0, le=1.0)
    top_p: StrictFloat | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    tools: list[ToolParam] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: ToolChoiceParam | None = None
    output_config: OutputConfig | None = None
    thinking: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    container: str | dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_TOOLS)
    context_management: dict[str, Any] | None = None
    inference_geo: str | None = Field(default=None, max_length=100)
    speed: Literal["standard", "fast"] | None = None

    def unsupported(self) -> list[str]:
        """The options this body really uses that the service cannot honour."""
        found = [name for name, off in OFF_VALUES.items() if getattr(self, name) not in off]
        effort = self.output_config.effort if self.output_config is not None else None
        if effort not in (None, EFFORT_DEFAULT):
            found.append("output_config.effort")
        return found

    def run_fields(self) -> dict[str, Any]:
        """The chat-completions fields that only a call to the model has (none here)."""
        return {}


class MessagesRequest(MessagesInput):
    """The body of POST /v1/messages."""

    max_tokens: int = Field(ge=1, le=MAX_OUTPUT_TOKENS, strict=True)
    stream: StreamFlag = False

    def run_fields(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "stream": self.stream}


class CountTokensRequest(MessagesInput):
    """The body of POST /v1/messages/count_tokens: a Messages body without `max_tokens`."""


class TokenCount(BaseModel):
    input_tokens: int


def _plain(blocks: str | list[Block] | None, where: str) -> str:
    """The text of string content or of text blocks; other blocks are refused."""
    if blocks is None or isinstance(blocks, str):
        return blocks or ""
    texts = []
    for block in blocks:
        if block.type != "text" or block.text is None:
            raise bad_request(f"{where}: only text blocks are supported here", param="messages")
        texts.append(block.text)
    return "\n".join(texts)


def _messages(body: MessagesInput) -> list[dict[str, Any]]:
    """The conversation as chat-completions messages."""
    out: list[dict[str, Any]] = []
    system = _plain(body.system, "system")
    if system:
        out.append({"role": "system", "content": system})
    for index, message in enumerate(body.messages):
        where = f"messages[{index}]"
        if isinstance(message.content, str):
            out.append({"role": message.role, "content": message.content})
            continue
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        for block in message.content:
            if block.type == "text" and block.text is not None:
                texts.append(block.text)
            elif block.type == "tool_use" and message.role == "assistant":
                if not block.id or not block.name:
                    raise bad_request(f"{where}: a tool_use block needs an id and a name")
                arguments = json.dumps(block.input or {})
                function = {"name": block.name, "arguments": arguments}
                calls.append({"id": block.id, "type": "function", "function": function})
            elif block.type == "tool_result" and message.role == "user":
                if not block.tool_use_id:
                    raise bad_request(f"{where}: a tool_result block needs a tool_use_id")
                result = _plain(block.content, where)
                if block.is_error:
                    result = f"[tool error] {result}"
                out.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": result})
            else:
                raise bad_request(
                    f"{where}: {block.type!r} blocks are not supported in {message.role} turns",
                    param="messages",
                )
        if texts or calls:
            turn: dict[str, Any] = {"role": message.role, "content": "\n".join(texts)}
            if calls:
                turn["tool_calls"] = calls
            out.append(turn)
    return out


def to_chat_body(body: MessagesInput) -> ChatCompletionRequest:
    """The chat-completions body that asks for the same thing (see the module docstring)."""
    unsupported = body.unsupported()
    if unsupported:
        raise not_supported(unsupported)
    chat: dict[str, Any] = {"model": body.model, "messages": _messages(body), **body.run_fields()}
    for name in ("temperature", "top_p"):
        if getattr(body, name) is not None:
            chat[name] = getattr(body, name)
    if body.stop_sequences:
        chat["stop"] = body.stop_sequences
    if body.tools:
        chat["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    **({"description": tool.description} if tool.description else {}),
                    "parameters": tool.input_schema,
                },
            }
            for tool in body.tools
        ]
    choice = body.tool_choice
    if choice is not None:
        if choice.type == "tool":
            if choice.name is None:
                raise bad_request("tool_choice of type 'tool' needs a name", param="tool_choice")
            chat["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        else:
            chat["tool_choice"] = {"any": "required"}.get(choice.type, choice.type)
        if choice.disable_parallel_tool_use:
            chat["parallel_tool_calls"] = False
    fmt = body.output_config.format if body.output_config is not None else None
    if fmt is not None:
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": fmt.schema_},
        }
    try:
        return ChatCompletionRequest.model_validate(chat)
    except ValidationError as exc:
        raise bad_request(described(exc.errors()[0])) from None


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int


class MessageResponse(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None = None
    usage: Usage
    orchestratex: dict[str, Any]


STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
"""OpenAI finish reasons as Anthropic stop reasons (content_filter becomes refusal)."""


def stop_reason(finish: str) -> str:
    return STOP_REASONS.get(finish, "refusal" if finish == "content_filter" else "end_turn")
