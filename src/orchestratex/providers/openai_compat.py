"""Adapter for OpenAI-compatible chat completions (OpenAI, xAI, Mistral, Qwen, Groq, Ollama...)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.types import (
    ChatMessage,
    CompletionRequest,
    RawCompletion,
    TextDelta,
    TokenUsage,
    ToolCall,
    ToolCallDelta,
)
from orchestratex.providers.base import effective_timeout
from orchestratex.providers.errors import CallContext, SdkErrorTypes, malformed, raise_mapped
from orchestratex.providers.logprobs import TokenLogprobs

_ERRORS = SdkErrorTypes(
    base=openai.APIError,
    status=openai.APIStatusError,
    connection=openai.APIConnectionError,
    timeout=openai.APITimeoutError,
    validation=openai.APIResponseValidationError,
)


_SAMPLING = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")
"""Options sent under the same name, when set."""


def wire_message(message: ChatMessage) -> dict[str, Any]:
    """One message in the chat-completions shape, tool calls and tool results included."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["content"] = message.content or None
        wire["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    return wire


def tool_params(request: CompletionRequest) -> dict[str, Any]:
    """`tools`, `tool_choice` and `parallel_tool_calls` in the chat-completions shape."""
    params: dict[str, Any] = {}
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    **({"description": tool.description} if tool.description else {}),
                    **({"parameters": tool.parameters} if tool.parameters is not None else {}),
                    **({"strict": tool.strict} if tool.strict is not None else {}),
                },
            }
            for tool in request.tools
        ]
    choice = request.tool_choice
    if choice is not None:
        params["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}}
            if choice.mode == "function"
            else choice.mode
        )
    if request.parallel_tool_calls is not None and request.tools:
        params["parallel_tool_calls"] = request.parallel_tool_calls
    return params


def response_format_param(request: CompletionRequest) -> dict[str, Any] | None:
    fmt = request.output_format()
    if fmt is None:
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.json_schema}
    schema["strict"] = bool(fmt.strict)
    return {"type": "json_schema", "json_schema": schema}


def _finish(reason: str | None) -> str:
    return "tool_calls" if reason == "function_call" else reason or "stop"


class OpenAICompatAdapter:
    """One `openai.AsyncOpenAI` client for one provider; SDK retries are off (the gateway's)."""

    def __init__(self, provider: ProviderSpec, api_key: str) -> None:
        self._provider = provider
        self._key = api_key
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=str(provider.base_url) if provider.base_url is not None else None,
            max_retries=0,
            timeout=provider.timeout_s,
        )

    def _ctx(self, model_id: str) -> CallContext:
        return CallContext(self._provider.name, model_id, (self._key,))

    def _params(self, model_id: str, request: CompletionRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model_id,
            "messages": [wire_message(m) for m in request.messages],
            "timeout": effective_timeout(self._provider, request),
        }
        # OpenAI's own endpoint wants max_completion_tokens; compatible servers want max_tokens.
        if self._provider.base_url is None:
            params["max_completion_tokens"] = request.max_tokens
        else:
            params["max_tokens"] = request.max_tokens
        for name in _SAMPLING:
            value = getattr(request, name)
            if value is not None:
                params[name] = value
        if request.stop:
            params["stop"] = request.stop
        response_format = response_format_param(request)
        if response_format is not None:
            params["response_format"] = response_format
        params.update(tool_params(request))
        if request.logprobs:
            params["logprobs"] = True
        return params

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        ctx = self._ctx(model_id)
        try:
            response = await self._client.chat.completions.create(**self._params(model_id, request))
            if not response.choices:
                raise malformed(ctx, "the answer has no choices")
            choice = response.choices[0]
            if response.usage is None:
                raise malformed(ctx, "the answer has no token usage")
            calls = [
                ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
                for c in choice.message.tool_calls or []
                if c.type == "function"
            ]
            logprobs = TokenLogprobs()
            if request.logprobs:
                logprobs.add(choice.logprobs)
            return RawCompletion(
                text=choice.message.content or "",
                usage=TokenUsage(
                    input_tokens=response.usage.prompt_tokens,
                    output_tokens=response.usage.completion_tokens,
                ),
                finish_reason=_finish(choice.finish_reason),
                provider_model=response.model or model_id,
                tool_calls=calls,
                confidence=logprobs.confidence(),
            )
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx)

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | RawCompletion]:
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        calls = _CallParts()
        logprobs = TokenLogprobs()
        usage: TokenUsage | None = None
        finish = "stop"
        served = model_id
        started = False
        try:
            chunks = await self._client.chat.completions.create(**params)
            started = True
            async with chunks:
                async for chunk in chunks:
                    served = chunk.model or served
                    if chunk.usage is not None:
                        usage = TokenUsage(
                            input_tokens=chunk.usage.prompt_tokens,
                            output_tokens=chunk.usage.completion_tokens,
                        )
                    for choice in chunk.choices:
                        if choice.finish_reason:
                            finish = _finish(choice.finish_reason)
                        if request.logprobs:
                            logprobs.add(choice.logprobs)
                        if choice.delta is None:
                            continue
                        text = choice.delta.content
                        if text:
                            parts.append(text)
                            yield TextDelta(text=text)
                        for piece in choice.delta.tool_calls or []:
                            fn = piece.function
                            delta = ToolCallDelta(
                                index=piece.index,
                                id=piece.id,
                                name=fn.name if fn else None,
                                arguments=(fn.arguments if fn else None) or "",
                            )
                            calls.add(delta)
                            yield delta
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx, mid_stream=started)
        if usage is None:
            raise malformed(ctx, "the stream ended without token usage (cut off?)")
        try:
            tool_calls = calls.finished()
        except ValueError as exc:
            raise malformed(ctx, str(exc)) from None
        yield RawCompletion(
            text="".join(parts),
            usage=usage,
            finish_reason=finish,
            provider_model=served,
            tool_calls=tool_calls,
            confidence=logprobs.confidence(),
        )

    async def aclose(self) -> None:
        await self._client.close()


class _CallParts:
    """Tool calls assembled from their streamed pieces, by index."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}

    def add(self, delta: ToolCallDelta) -> None:
        call = self._calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
        call["id"] = delta.id or call["id"]
        call["name"] = delta.name or call["name"]
        call["arguments"] += delta.arguments

    def finished(self) -> list[ToolCall]:
        """The whole calls in index order; ValueError when one never got its id or name."""
        calls = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call["id"] or not call["name"]:
                raise ValueError(f"streamed tool call {index} has no id or name")
            calls.append(
                ToolCall(id=call["id"], name=call["name"], arguments=call["arguments"] or "{}")
            )
        return calls
