"""Adapter for OpenAI-compatible chat completions (OpenAI, xAI, Mistral, Qwen, Groq, Ollama...)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import openai

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.types import CompletionRequest, RawCompletion, TextDelta, TokenUsage
from orchestratex.providers.base import effective_timeout
from orchestratex.providers.errors import CallContext, SdkErrorTypes, malformed, raise_mapped

_ERRORS = SdkErrorTypes(
    base=openai.APIError,
    status=openai.APIStatusError,
    connection=openai.APIConnectionError,
    timeout=openai.APITimeoutError,
    validation=openai.APIResponseValidationError,
)


def _schema_name(schema: dict[str, Any]) -> str:
    title = schema.get("title")
    name = re.sub(r"[^A-Za-z0-9_-]", "_", title) if isinstance(title, str) else ""
    return (name or "response")[:64]


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
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "timeout": effective_timeout(self._provider, request),
        }
        # OpenAI's own endpoint wants max_completion_tokens; compatible servers want max_tokens.
        if self._provider.base_url is None:
            params["max_completion_tokens"] = request.max_tokens
        else:
            params["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.stop:
            params["stop"] = request.stop
        if request.json_schema is not None:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": _schema_name(request.json_schema),
                    "schema": request.json_schema,
                    "strict": False,
                },
            }
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
            return RawCompletion(
                text=choice.message.content or "",
                usage=TokenUsage(
                    input_tokens=response.usage.prompt_tokens,
                    output_tokens=response.usage.completion_tokens,
                ),
                finish_reason=choice.finish_reason or "stop",
                provider_model=response.model or model_id,
            )
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx)

    async def stream(
        self, model_id: str, request: CompletionRequest
    ) -> AsyncIterator[TextDelta | RawCompletion]:
        ctx = self._ctx(model_id)
        params = self._params(model_id, request)
        params["stream"] = True
        params["stream_options"] = {"include_usage": True}
        parts: list[str] = []
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
                            finish = choice.finish_reason
                        text = choice.delta.content if choice.delta else None
                        if text:
                            parts.append(text)
                            yield TextDelta(text=text)
        except Exception as exc:
            raise_mapped(exc, _ERRORS, ctx, mid_stream=started)
        if usage is None:
            raise malformed(ctx, "the stream ended without token usage (cut off?)")
        yield RawCompletion(
            text="".join(parts), usage=usage, finish_reason=finish, provider_model=served
        )

    async def aclose(self) -> None:
        await self._client.close()
