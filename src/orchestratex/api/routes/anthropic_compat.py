"""Anthropic-compatible `POST /v1/messages` and `POST /v1/messages/count_tokens`, so clients
built on the `anthropic` SDK work.

The body is translated to the equivalent chat-completions body and planned and run exactly as
/v1/chat/completions runs it (see `anthropic_schema` and `openai_request`): the same catalog
models and `orchestratex/*` names, the same options, one upstream call for a named model.
Streams send the Messages events (message_start, content_block_start/delta/stop, message_delta,
message_stop, ping while waiting, error on failure). Keys are read from `x-api-key` (the SDK's
header) or `Authorization: Bearer`. Replayed answers carry `X-OrchestrateX-Replay: true` and
`"replay": true` in the `orchestratex` extension. Counting tokens is planned the same way (same
400s and 404s) and calls no model: see `count_tokens`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestratex.api.answer_parts import (
    Answer,
    Failed,
    Keepalive,
    Text,
    answer_parts,
    answer_round,
    event_stream,
    finished,
)
from orchestratex.api.anthropic_errors import AnthropicRoute, from_openai
from orchestratex.api.anthropic_schema import (
    CountTokensRequest,
    MessageResponse,
    MessagesRequest,
    TokenCount,
    Usage,
    stop_reason,
    to_chat_body,
)
from orchestratex.api.deps import (
    MalformedAuthorization,
    ServiceDep,
    bearer_token,
    current_user,
    user_for,
)
from orchestratex.api.errors import ApiError
from orchestratex.api.openai_request import plan
from orchestratex.api.openai_run import RunFeed
from orchestratex.api.openai_schema import REFINE_MODEL
from orchestratex.api.routes.openai_compat import extension, is_replay, replay_headers
from orchestratex.core.types import ResponseFormat, ToolCall
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.service import Service
from orchestratex.runtime.token_estimate import estimate_input_tokens

router = APIRouter(prefix="/v1", tags=["anthropic"], route_class=AnthropicRoute)
TEXT_BLOCK: dict[str, Any] = {"type": "text", "text": ""}
_bearer = HTTPBearer(auto_error=False)


async def anthropic_user(
    request: Request,
    service: ServiceDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, by `x-api-key` (as the anthropic SDK sends it) or a bearer token."""
    key = request.headers.get("x-api-key")
    if key:
        try:
            token = bearer_token(f"Bearer {key}")
        except MalformedAuthorization:
            token = None
        if token is None:
            raise ApiError(401, "unauthorized", "malformed x-api-key header")
        peer = request.client.host if request.client is not None else None
        return await user_for(service, token, request.headers, peer, how="`x-api-key: <key>`")
    return await current_user(service, request, None)


AnthropicUser = Annotated[Principal, Depends(anthropic_user)]


def _tool_block(call: ToolCall) -> dict[str, Any]:
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        arguments = {"arguments": call.arguments}
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": arguments}


@router.post("/messages", response_model=None)
async def create_message(
    body: MessagesRequest, request: Request, service: ServiceDep, user: AnthropicUser
) -> MessageResponse | Response:
    """Answer a conversation with an orchestration; `stream` gives the Messages SSE events."""
    planned = plan(to_chat_body(body), service)
    fmt = None if planned.passthrough else planned.request.options.response_format
    feed = await RunFeed.start(service, planned, user, live=bool(body.stream))
    message_id = f"msg_{feed.run.thread_id}"
    headers = replay_headers(service)
    if body.stream:
        live = body.model != REFINE_MODEL and fmt is None
        # Counted while the run starts upstream: message_start reports it, as Anthropic's does.
        counted = asyncio.ensure_future(estimate_input_tokens(planned.request))
        events = _events(feed, body.model, message_id, counted, live=live, fmt=fmt, service=service)
        return event_stream(events, headers)
    run = await finished(feed, request)
    result, chosen = await answer_round(run, fmt)
    calls = run.calls_of(chosen)
    content: list[dict[str, Any]] = []
    if chosen.answer or not calls:
        content.append({"type": "text", "text": chosen.answer})
    content += [_tool_block(c) for c in calls]
    message = MessageResponse(
        id=message_id,
        model=body.model,
        content=content,
        stop_reason=stop_reason(run.finish_reason(chosen)),
        usage=Usage(
            input_tokens=result.usage.input_tokens, output_tokens=result.usage.output_tokens
        ),
        orchestratex=extension(
            run.thread_id, result, chosen, replay=is_replay(service)
        ).model_dump(),
    )
    return JSONResponse(message.model_dump(mode="json"), headers=headers)


@router.post("/messages/count_tokens")
async def count_tokens(
    body: CountTokensRequest, service: ServiceDep, _user: AnthropicUser
) -> TokenCount:
    """Count the input tokens of a Messages body (without `max_tokens`) for its model.

    `input_tokens` is an estimate: the answering call's input (system, turns, tool calls, tool
    definitions, output schema) counted with OpenAI's cl100k_base tokenizer as OpenAI counts
    chat input (`runtime/token_estimate.py`); no provider's own tokenizer is available offline,
    so it is the same for every model (Mistral v1 counts 1.1-1.3x as many on English prose and
    code). The body is checked as `/v1/messages` checks it (the same 400s, a 404 for an
    unknown model, the key); nothing is called upstream or stored, and the request rate limit
    does not count it.
    """
    planned = plan(to_chat_body(body), service)
    return TokenCount(input_tokens=await estimate_input_tokens(planned.request))


def _sse(name: str, payload: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n"


async def _events(
    feed: RunFeed,
    model: str,
    message_id: str,
    counted: asyncio.Future[int],
    *,
    live: bool,
    fmt: ResponseFormat | None,
    service: Service,
) -> AsyncIterator[str]:
    """The Messages stream; `live` streams round 1's text as it is generated. message_start
    reports `counted`, the estimate count_tokens gives (the provider's count of the input is
    known only once its reply starts); message_delta reports the usage the providers billed,
    which the SDK's stream helper takes as the final figure."""
    input_tokens = await counted
    head: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 0},
    }
    text_block = _sse("content_block_start", {"index": 0, "content_block": TEXT_BLOCK})
    text_open = False
    yield _sse("message_start", {"message": head})
    async with contextlib.aclosing(answer_parts(feed, live=live, fmt=fmt)) as parts:
        async for part in parts:
            if isinstance(part, Keepalive):
                yield _sse("ping", {})
            elif isinstance(part, Text):
                if not text_open:
                    yield text_block
                    text_open = True
                delta = {"type": "text_delta", "text": part.text}
                yield _sse("content_block_delta", {"index": 0, "delta": delta})
            elif isinstance(part, Failed):
                yield _sse("error", {"error": from_openai(part.error)["error"]})
            else:
                if not text_open and (part.chosen.answer or not part.calls):
                    yield text_block
                    text_open = True
                for event in _closing_events(feed, part, text_open=text_open, service=service):
                    yield event


def _closing_events(feed: RunFeed, part: Answer, *, text_open: bool, service: Service) -> list[str]:
    """The end of a Messages stream: the text block's stop, one block per tool call, the
    stop reason with the usage and the extension, and message_stop."""
    events = [_sse("content_block_stop", {"index": 0})] if text_open else []
    for offset, call in enumerate(part.calls):
        index = offset + (1 if text_open else 0)
        tool_block = {**_tool_block(call), "input": {}}
        delta = {"type": "input_json_delta", "partial_json": call.arguments}
        events += [
            _sse("content_block_start", {"index": index, "content_block": tool_block}),
            _sse("content_block_delta", {"index": index, "delta": delta}),
            _sse("content_block_stop", {"index": index}),
        ]
    ext = extension(feed.run.thread_id, part.result, part.chosen, replay=is_replay(service))
    usage = part.result.usage
    stop = {"stop_reason": stop_reason(part.finish_reason), "stop_sequence": None}
    events.append(
        _sse(
            "message_delta",
            {
                "delta": stop,
                "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
                "orchestratex": ext.model_dump(mode="json"),
            },
        )
    )
    events.append(_sse("message_stop", {}))
    return events
