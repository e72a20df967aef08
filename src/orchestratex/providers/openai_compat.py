"""Adapter for OpenAI-compatible chat completions (OpenAI, xAI, Mistral, Qwen, Groq, Ollama...)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.chat_shape import chat_message
from orchestratex.core.types import (
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
from orchestratex.providers.raw_reply import ToolCallParts, sse_objects, token_count

_ERRORS = SdkErrorTypes(
    base=openai.APIError,
    status=openai.APIStatusError,
    connection=openai.APIConnectionError,
    timeout=openai.APITimeoutError,
    validation=openai.APIResponseValidationError,
)


_SAMPLING = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")
"""Options sent under the same name, when set."""


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


def _calls(message: dict[str, Any], ctx: CallContext) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict) or call.get("type", "function") != "function":
            continue
        fn = call.get("function")
        if not isinstance(fn, dict) or not isinstance(call.get("id"), str):
            raise malformed(ctx, "a tool call has no id or function")
        name, arguments = fn.get("name"), fn.get("arguments")
        if not isinstance(name, str) or not isinstance(arguments, str | None):
            raise malformed(ctx, "a tool call has no valid name or arguments")
        calls.append(ToolCall(id=call["id"], name=name, arguments=arguments or "{}"))
    return calls


def parse_completion(
    data: Any, model_id: str, ctx: CallContext, *, logprobs: bool = False
) -> RawCompletion:
    """A chat.completion reply (JSON) as a RawCompletion; MalformedResponseError when a part
    the service needs is missing or of the wrong type. With `logprobs`, the answer's own
    confidence from the choice's token log-probabilities (when it carries any)."""
    if not isinstance(data, dict):
        raise malformed(ctx, "the answer is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise malformed(ctx, "the answer has no choices")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        raise malformed(ctx, "the answer has no token usage")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise malformed(ctx, "the answer's choice has no message")
    content = message.get("content")
    if not isinstance(content, str | None):
        raise malformed(ctx, "the answer's content is not text")
    reason = choices[0].get("finish_reason")
    served = data.get("model")
    tokens = TokenLogprobs()
    if logprobs:
        tokens.add(choices[0].get("logprobs"))
    return RawCompletion(
        text=content or "",
        usage=TokenUsage(
            input_tokens=token_count(usage, "prompt_tokens", ctx),
            output_tokens=token_count(usage, "completion_tokens", ctx),
        ),
        finish_reason=_finish(reason if isinstance(reason, str) else None),
        provider_model=served if isinstance(served, str) and served else model_id,
        tool_calls=_calls(message, ctx),
        confidence=tokens.confidence(),
    )


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
            "messages": [chat_message(m) for m in request.messages],
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
        """One whole reply. Sent through the SDK's client (its auth, base URL, timeouts and
        error mapping) as a raw response, and read from its JSON: building the SDK's typed
        models of the request and reply cost more CPU than the rest of a passthrough call."""
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        timeout = params.pop("timeout")
        try:
            response = await self._client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                body=params,
                options={"timeout": timeout},
            )
            data = json.loads(response.content)
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx)
        return parse_completion(data, model_id, ctx, logprobs=bool(request.logprobs))

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | ToolCallDelta | RawCompletion]:
        """A streamed reply, sent through the SDK's client like `complete` and read as raw
        server-sent events (one `json.loads` per chunk instead of the SDK's typed chunk models,
        which cost most of a streamed passthrough's CPU)."""
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        timeout = params.pop("timeout")
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        calls = ToolCallParts()
        logprobs = TokenLogprobs()
        usage: TokenUsage | None = None
        finish = "stop"
        served = model_id
        started = False
        try:
            response = await self._client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                body=params,
                options={"timeout": timeout},
                stream=True,
            )
            started = True
            try:
                async for chunk in sse_objects(response, openai.APIError):
                    served = chunk.get("model") or served
                    counts = chunk.get("usage")
                    if counts:
                        usage = TokenUsage(
                            input_tokens=token_count(counts, "prompt_tokens", ctx),
                            output_tokens=token_count(counts, "completion_tokens", ctx),
                        )
                    for choice in chunk.get("choices") or ():
                        if choice.get("finish_reason"):
                            finish = _finish(choice["finish_reason"])
                        if request.logprobs:
                            logprobs.add(choice.get("logprobs"))
                        delta = choice.get("delta")
                        if not delta:
                            continue
                        text = delta.get("content")
                        if text:
                            parts.append(text)
                            yield TextDelta(text=text)
                        for piece in delta.get("tool_calls") or ():
                            fn = piece.get("function") or {}
                            call_delta = ToolCallDelta(
                                index=piece["index"],
                                id=piece.get("id"),
                                name=fn.get("name"),
                                arguments=fn.get("arguments") or "",
                            )
                            calls.add(call_delta)
                            yield call_delta
            finally:
                await response.aclose()
        except AttributeError:
            raise malformed(
                ctx, "a stream chunk is not shaped as a chat completion chunk"
            ) from None
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
