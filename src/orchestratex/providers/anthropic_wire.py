"""Adapter for the Anthropic Messages API.

Chat-completions concepts map onto Messages as follows: system turns become `system`; tool
calls become `tool_use` blocks of the assistant turn and tool results `tool_result` blocks of a
user turn; a JSON response format becomes an instruction in `system` (the API has no JSON mode)
and the JSON object is cut out of the reply. The Messages API (SDK 2.x) has no temperature,
top_p, seed or penalties: a request that sets one is refused (see `capabilities`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import BadRequestError
from orchestratex.core.types import (
    ChatMessage,
    CompletionRequest,
    RawCompletion,
    ResponseFormat,
    TextDelta,
    TokenUsage,
    ToolCall,
    ToolCallDelta,
)
from orchestratex.providers.base import effective_timeout
from orchestratex.providers.capabilities import refused_options
from orchestratex.providers.errors import CallContext, SdkErrorTypes, malformed, raise_mapped

_ERRORS = SdkErrorTypes(
    base=anthropic.APIError,
    status=anthropic.APIStatusError,
    connection=anthropic.APIConnectionError,
    timeout=anthropic.APITimeoutError,
    validation=anthropic.APIResponseValidationError,
)

_JSON_INSTRUCTION = (
    "Answer with one JSON object only: no prose, no code fences. It must match this JSON schema:\n"
)
_JSON_OBJECT_INSTRUCTION = "Answer with one JSON object only: no prose, no code fences."
_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def finish_reason(stop_reason: str | None) -> str:
    """An Anthropic stop reason in chat-completions terms."""
    return _STOP_REASONS.get(stop_reason or "end_turn", stop_reason or "stop")


def _json_instruction(fmt: ResponseFormat | None) -> str | None:
    if fmt is None:
        return None
    if fmt.type == "json_object":
        return _JSON_OBJECT_INSTRUCTION
    return _JSON_INSTRUCTION + json.dumps(fmt.json_schema, sort_keys=True)


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    """The content blocks of one non-system message."""
    if message.role == "tool":
        return [
            {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            raise BadRequestError(f"tool call {call.id}: the arguments are not JSON") from None
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def split_messages(
    messages: list[ChatMessage], fmt: ResponseFormat | None
) -> tuple[str, list[dict[str, Any]]]:
    """System text (plus any JSON instruction) and the turns, same-role neighbours merged.

    Plain text turns keep a string content; turns with tool calls or results use blocks.
    """
    system = [m.content for m in messages if m.role == "system"]
    if (instruction := _json_instruction(fmt)) is not None:
        system.append(instruction)
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "user" if m.role == "tool" else m.role
        plain = m.role != "tool" and not m.tool_calls
        if turns and turns[-1]["role"] == role:
            last = turns[-1]
            if plain and isinstance(last["content"], str):
                last["content"] += "\n\n" + m.content
                continue
            if isinstance(last["content"], str):
                last["content"] = [{"type": "text", "text": last["content"]}]
            last["content"].extend(_blocks(m))
        else:
            turns.append({"role": role, "content": m.content if plain else _blocks(m)})
    return "\n\n".join(system), turns


def tool_params(request: CompletionRequest) -> dict[str, Any]:
    """`tools` and `tool_choice` in the Messages shape."""
    params: dict[str, Any] = {}
    if request.tools:
        params["tools"] = [
            {
                "name": tool.name,
                **({"description": tool.description} if tool.description else {}),
                "input_schema": tool.parameters or _EMPTY_SCHEMA,
            }
            for tool in request.tools
        ]
    choice: dict[str, Any] | None = None
    if request.tool_choice is not None:
        mode = request.tool_choice.mode
        kinds = {"auto": "auto", "none": "none", "required": "any", "function": "tool"}
        choice = {"type": kinds[mode]}
        if mode == "function":
            choice["name"] = request.tool_choice.name
    if request.parallel_tool_calls is False and request.tools:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None and (request.tools or choice["type"] == "none"):
        params["tool_choice"] = choice
    return params


def extract_json(text: str) -> str:
    """The JSON object inside `text` (code fences or surrounding prose dropped), else `text`."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return text
    candidate = text[start : end + 1]
    try:
        json.loads(candidate)
    except ValueError:
        return text
    return candidate


class AnthropicAdapter:
    """One `anthropic.AsyncAnthropic` client for one provider; SDK retries are off."""

    def __init__(self, provider: ProviderSpec, api_key: str) -> None:
        self._provider = provider
        self._key = api_key
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=str(provider.base_url) if provider.base_url is not None else None,
            max_retries=0,
            timeout=provider.timeout_s,
        )

    def _ctx(self, model_id: str) -> CallContext:
        return CallContext(self._provider.name, model_id, (self._key,))

    def _params(self, model_id: str, request: CompletionRequest) -> dict[str, Any]:
        refused = refused_options("anthropic", request)
        if refused:
            raise BadRequestError(
                "; ".join(refused.values()), provider=self._provider.name, model=model_id
            )
        system, turns = split_messages(request.messages, request.output_format())
        params: dict[str, Any] = {
            "model": model_id,
            "messages": turns,
            "max_tokens": request.max_tokens,
            "timeout": effective_timeout(self._provider, request),
        }
        if system:
            params["system"] = system
        if request.stop:
            params["stop_sequences"] = request.stop
        params.update(tool_params(request))
        return params

    def _finish(self, text: str, request: CompletionRequest) -> str:
        return extract_json(text) if request.output_format() is not None else text

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        try:
            message = await self._client.messages.create(**params)
            text = "".join(
                block.text for block in message.content if getattr(block, "type", "") == "text"
            )
            calls = [
                ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input))
                for block in message.content
                if block.type == "tool_use"
            ]
            return RawCompletion(
                text=self._finish(text, request),
                usage=TokenUsage(
                    input_tokens=message.usage.input_tokens,
                    output_tokens=message.usage.output_tokens,
                ),
                finish_reason=finish_reason(message.stop_reason),
                provider_model=message.model or model_id,
                tool_calls=calls,
            )
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx)

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | RawCompletion]:
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        """Tool calls by content-block index: id, name and the JSON pieces joined."""
        input_tokens: int | None = None
        output_tokens = 0
        finish = "stop"
        served = model_id
        stopped = False
        started = False
        try:
            events = await self._client.messages.create(stream=True, **params)
            started = True
            async with events:
                async for event in events:
                    if event.type == "message_start":
                        input_tokens = event.message.usage.input_tokens
                        output_tokens = event.message.usage.output_tokens or 0
                        served = event.message.model or served
                    elif (
                        event.type == "content_block_start"
                        and event.content_block.type == "tool_use"
                    ):
                        block = event.content_block
                        calls[event.index] = {"id": block.id, "name": block.name, "arguments": ""}
                        yield ToolCallDelta(index=len(calls) - 1, id=block.id, name=block.name)
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                        yield TextDelta(text=event.delta.text)
                    elif (
                        event.type == "content_block_delta"
                        and event.delta.type == "input_json_delta"
                        and event.index in calls
                    ):
                        calls[event.index]["arguments"] += event.delta.partial_json
                        position = list(calls).index(event.index)
                        yield ToolCallDelta(index=position, arguments=event.delta.partial_json)
                    elif event.type == "message_delta":
                        output_tokens = event.usage.output_tokens
                        finish = finish_reason(event.delta.stop_reason)
                    elif event.type == "message_stop":
                        stopped = True
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx, mid_stream=started)
        if not stopped or input_tokens is None:
            raise malformed(ctx, "the stream ended before message_stop (cut off?)")
        yield RawCompletion(
            text=self._finish("".join(parts), request),
            usage=TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens),
            finish_reason=finish,
            provider_model=served,
            tool_calls=[
                ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"] or "{}")
                for c in calls.values()
            ],
        )

    async def aclose(self) -> None:
        await self._client.close()
