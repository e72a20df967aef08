"""OpenAI's legacy text completions (`POST /v1/completions`), for clients that still send them.

The body becomes the equivalent chat body (`completions_schema`) and runs exactly as
/v1/chat/completions runs it: the same models, gates, lanes and stored thread. Whole replies are
`text_completion` objects; streams send `text_completion` chunks, then `[DONE]`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response

from orchestratex.api.answer_parts import (
    Failed,
    Keepalive,
    Text,
    answer_parts,
    answer_round,
    event_stream,
    finished,
)
from orchestratex.api.completions_schema import (
    CompletionRequest,
    TextChoice,
    TextCompletion,
    to_chat_body,
)
from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.openai_errors import OpenAIRoute
from orchestratex.api.openai_request import plan
from orchestratex.api.openai_run import RunFeed
from orchestratex.api.openai_schema import REFINE_MODEL
from orchestratex.api.routes.openai_compat import (
    REPLAY_FINGERPRINT,
    extension,
    is_replay,
    replay_headers,
    usage_of,
)

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)


@router.post("/completions", response_model=None, responses={200: {"model": TextCompletion}})
async def completions(
    body: CompletionRequest, request: Request, service: ServiceDep, user: CurrentUser
) -> Response:
    """Complete one prompt (legacy API): the prompt is asked of the model as one user message,
    as LiteLLM's proxy does for chat models; `stream` gives text_completion chunks."""
    chat = to_chat_body(body)
    planned = plan(chat, service)
    feed = await RunFeed.start(service, planned, user, live=bool(body.stream))
    reply = TextCompletion(
        id=f"cmpl-{feed.run.thread_id}",
        created=int(time.time()),
        model=body.model,
        system_fingerprint=REPLAY_FINGERPRINT if is_replay(service) else None,
        choices=[],
    )
    headers = replay_headers(service)
    if body.stream:
        live = body.model != REFINE_MODEL
        replay = is_replay(service)
        events = _stream(feed, reply, live=live, usage=chat.include_usage, replay=replay)
        return event_stream(events, headers)
    run = await finished(feed, request)
    result, chosen = await answer_round(run, None)
    reply.choices = [TextChoice(text=chosen.answer, finish_reason=run.finish_reason(chosen))]
    reply.usage = usage_of(result)
    reply.orchestratex = extension(run.thread_id, result, chosen, replay=is_replay(service))
    return Response(reply.model_dump_json(), media_type="application/json", headers=headers)


def _event(reply: TextCompletion) -> str:
    data = reply.model_dump(mode="json", exclude_none=True)
    for choice in data["choices"]:
        choice.setdefault("logprobs", None)
        choice.setdefault("finish_reason", None)
    return f"data: {json.dumps(data)}\n\n"


async def _stream(
    feed: RunFeed, reply: TextCompletion, *, live: bool, usage: bool, replay: bool
) -> AsyncIterator[str]:
    """Chunks as the legacy API sends them: text pieces, a last chunk with the finish reason
    (and the extension), the usage chunk when `stream_options.include_usage`, `[DONE]`."""
    async with contextlib.aclosing(answer_parts(feed, live=live, fmt=None)) as parts:
        async for part in parts:
            if isinstance(part, Keepalive):
                yield ": keep-alive\n\n"
            elif isinstance(part, Text):
                piece = [TextChoice(text=part.text, finish_reason=None)]
                yield _event(reply.model_copy(update={"choices": piece}))
            elif isinstance(part, Failed):
                yield f"data: {json.dumps(part.error.body())}\n\n"
            else:
                last = [TextChoice(text="", finish_reason=part.finish_reason)]
                ext = extension(feed.run.thread_id, part.result, part.chosen, replay=replay)
                yield _event(reply.model_copy(update={"choices": last, "orchestratex": ext}))
                if usage:
                    yield _event(reply.model_copy(update={"usage": usage_of(part.result)}))
    yield "data: [DONE]\n\n"
