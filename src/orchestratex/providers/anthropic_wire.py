"""Adapter for the Anthropic Messages API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.types import (
    ChatMessage,
    CompletionRequest,
    RawCompletion,
    TextDelta,
    TokenUsage,
)
from orchestratex.providers.base import effective_timeout
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


def split_messages(
    messages: list[ChatMessage], json_schema: dict[str, Any] | None
) -> tuple[str, list[dict[str, str]]]:
    """System text (plus the JSON instruction) and the turns, same-role neighbours merged."""
    system = [m.content for m in messages if m.role == "system"]
    if json_schema is not None:
        system.append(_JSON_INSTRUCTION + json.dumps(json_schema, sort_keys=True))
    turns: list[dict[str, str]] = []
    for m in messages:
        if m.role == "system":
            continue
        if turns and turns[-1]["role"] == m.role:
            turns[-1]["content"] += "\n\n" + m.content
        else:
            turns.append({"role": m.role, "content": m.content})
    return "\n\n".join(system), turns


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
        system, turns = split_messages(request.messages, request.json_schema)
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
        return params

    def _finish(self, text: str, request: CompletionRequest) -> str:
        return extract_json(text) if request.json_schema is not None else text

    async def complete(self, model_id: str, request: CompletionRequest) -> RawCompletion:
        ctx = self._ctx(model_id)
        try:
            message = await self._client.messages.create(**self._params(model_id, request))
            text = "".join(
                block.text for block in message.content if getattr(block, "type", "") == "text"
            )
            return RawCompletion(
                text=self._finish(text, request),
                usage=TokenUsage(
                    input_tokens=message.usage.input_tokens,
                    output_tokens=message.usage.output_tokens,
                ),
                finish_reason=message.stop_reason or "stop",
                provider_model=message.model or model_id,
            )
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx)

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | RawCompletion]:
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        parts: list[str] = []
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
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                        yield TextDelta(text=event.delta.text)
                    elif event.type == "message_delta":
                        output_tokens = event.usage.output_tokens
                        finish = event.delta.stop_reason or finish
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
        )

    async def aclose(self) -> None:
        await self._client.close()
