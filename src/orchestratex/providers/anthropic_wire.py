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
import httpx2

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import BadRequestError
from orchestratex.core.types import (
    ChatMessage,
    CompletionRequest,
    RawCompletion,
    ResponseFormat,
    TextDelta,
    ToolCallDelta,
)
from orchestratex.providers.anthropic_read import MessageEvents, parse_message
from orchestratex.providers.base import effective_timeout
from orchestratex.providers.capabilities import refused_options
from orchestratex.providers.errors import CallContext, SdkErrorTypes, malformed, raise_mapped
from orchestratex.providers.raw_reply import sse_objects

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
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_MESSAGES = "/v1/messages"


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

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        """One whole reply. Sent through the SDK's client (its auth headers, base URL, timeouts
        and status errors) as a raw response and read from its JSON (`anthropic_read`): the
        SDK's typed message models cost more CPU than the rest of a passthrough call."""
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        timeout = params.pop("timeout")
        try:
            response = await self._client.post(
                _MESSAGES, cast_to=httpx2.Response, body=params, options={"timeout": timeout}
            )
            data = json.loads(response.content)
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx)
        return parse_message(data, model_id, ctx, json_reply=request.output_format() is not None)

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | RawCompletion]:
        """A streamed reply, sent like `complete`; its server-sent events are read as JSON
        objects (`raw_reply.sse_objects`, the reader the OpenAI-compatible adapter uses too)
        and folded by `anthropic_read.MessageEvents`. An `error` event (a provider failing
        mid-stream, such as `overloaded_error`) raises the SDK's `APIError`: a retryable
        ProviderUnavailableError carrying the event's message."""
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        timeout = params.pop("timeout")
        params["stream"] = True
        events = MessageEvents(model_id, ctx)
        started = False
        try:
            response = await self._client.post(
                _MESSAGES,
                cast_to=httpx2.Response,
                body=params,
                options={"timeout": timeout},
                stream=True,
            )
            started = True
            try:
                async for event in sse_objects(response, anthropic.APIError):
                    part = events.add(event)
                    if part is not None:
                        yield part
            finally:
                await response.aclose()
            done = events.completion(json_reply=request.output_format() is not None)
        except AttributeError:
            raise malformed(ctx, "a stream event is not shaped as a Messages event") from None
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx, mid_stream=started)
        yield done

    async def aclose(self) -> None:
        await self._client.close()
