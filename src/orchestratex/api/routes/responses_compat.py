"""OpenAI Responses API (`POST /v1/responses`), so `client.responses.create` and the OpenAI
Agents SDK work unchanged.

The body is translated to the equivalent chat-completions body (`responses_schema`) and planned
and run exactly as /v1/chat/completions runs it: the same catalog models and `orchestratex/*`
names, the same options, gates (key, rate limit, budget, body size) and lanes, one upstream call
for a named model, and a client that hangs up cancels the run. Streams send the Responses events
(`responses_format`); keep-alive comments while a run goes on. Every run is a thread of the
caller (`resp_<thread id>` is thread `<thread id>`, readable at `GET /api/threads/{thread_id}`),
which `previous_response_id` continues from (`responses_chain`). `GET /v1/responses/{id}` and
its `input_items` read it back (`responses_stored`); `DELETE` is a 405: threads are kept.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

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
from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.openai_errors import (
    OpenAIError,
    OpenAIRoute,
    bad_request,
    from_exception,
    not_supported,
)
from orchestratex.api.openai_request import plan
from orchestratex.api.openai_run import RunFeed
from orchestratex.api.openai_schema import REFINE_MODEL
from orchestratex.api.responses_chain import StoredRun, earlier_turns, not_found, stored_run
from orchestratex.api.responses_format import (
    EventWriter,
    ResponseObject,
    closing_events,
    failed,
    finish,
    message_opening,
    response_object,
    text_delta,
)
from orchestratex.api.responses_schema import ResponsesRequest, in_responses_terms, to_chat_body
from orchestratex.api.responses_stored import InputItemList, input_items, stored_response
from orchestratex.api.routes.openai_compat import extension, is_replay, replay_headers
from orchestratex.core.types import ResponseFormat
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.service import Service

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)


@router.post("/responses", response_model=None, responses={200: {"model": ResponseObject}})
async def create_response(
    body: ResponsesRequest, request: Request, service: ServiceDep, user: CurrentUser
) -> Response:
    """Answer `input` (with `instructions`) with an orchestration, as the OpenAI Responses API
    does: a `response` object, or with `stream` its server-sent events (response.created ...
    response.completed). `model` is a catalog key (one passthrough call) or
    `orchestratex/auto` / `orchestratex/refine`; function tools, `text.format` JSON,
    `max_output_tokens` (a cut answer is `incomplete`), `temperature` and `top_p` are honoured.
    `previous_response_id` continues from an earlier response of the caller (its conversation
    and answer come before `input`; its instructions do not). `conversation`, `background`,
    built-in tools and `reasoning` are refused with a 400 naming them."""
    earlier = None
    if body.previous_response_id is not None:
        earlier = await earlier_turns(service, user, body.previous_response_id)
    try:
        planned = plan(to_chat_body(body, earlier), service)
    except (OpenAIError, ValidationError) as exc:
        raise in_responses_terms(from_exception(exc)[0]) from None
    fmt = None if planned.passthrough else planned.request.options.response_format
    feed = await RunFeed.start(service, planned, user, live=bool(body.stream))
    thread_id = feed.run.thread_id
    pending = response_object(
        body,
        f"resp_{thread_id}",
        int(time.time()),
        "in_progress",
        max_output_tokens=planned.request.max_tokens,
    )
    headers = replay_headers(service)
    if body.stream:
        live = body.model != REFINE_MODEL and fmt is None
        events = _events(feed, pending, live=live, fmt=fmt, service=service)
        return event_stream(events, headers)
    run = await finished(feed, request)
    result, chosen = await answer_round(run, fmt)
    answer = Answer(result, chosen, run.calls_of(chosen), run.finish_reason(chosen))
    ext = extension(run.thread_id, result, chosen, replay=is_replay(service))
    final = finish(pending, thread_id, answer, ext)
    return Response(final.model_dump_json(), media_type="application/json", headers=headers)


@router.get("/responses/{response_id}", response_model=None)
async def retrieve_response(
    response_id: str,
    service: ServiceDep,
    user: CurrentUser,
    stream: Annotated[str | None, Query()] = None,
    include: Annotated[list[str] | None, Query(alias="include[]")] = None,
    include_plain: Annotated[list[str] | None, Query(alias="include")] = None,
) -> ResponseObject:
    """The caller's response `resp_<thread id>` as the POST returned it (`responses_stored`
    says what is not kept), or as it stands while its run goes on; another user's or an
    unknown id is a 404. Replaying a stream (`stream=true`) and `include` are a 400."""
    if stream not in (None, "false"):
        raise bad_request("stream=true is not supported here: the response is sent whole", "stream")
    if include or include_plain:
        raise not_supported(["include"])
    stored = await _stored(service, user, response_id)
    return await stored_response(stored, replay=is_replay(service))


@router.get("/responses/{response_id}/input_items", response_model=None)
async def list_input_items(
    response_id: str,
    service: ServiceDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: Annotated[str | None, Query(max_length=300)] = None,
    include: Annotated[list[str] | None, Query(alias="include[]")] = None,
    include_plain: Annotated[list[str] | None, Query(alias="include")] = None,
) -> InputItemList:
    """The input of the caller's response: the conversation its model was sent (earlier
    responses' turns included, `instructions` not), `limit` items after `after`, newest first
    unless `order=asc`."""
    if include or include_plain:
        raise not_supported(["include"])
    stored = await _stored(service, user, response_id)
    return input_items(stored, limit=limit, order=order, after=after)


@router.delete("/responses/{response_id}", response_model=None)
async def delete_response(response_id: str, service: ServiceDep, user: CurrentUser) -> Response:
    """Refused (405, `Allow: GET`): every run is kept as a thread of its caller, with its usage
    and cost records that budgets and analytics count, so a response cannot be deleted. Another
    user's or an unknown id is a 404 first, as for GET."""
    await _stored(service, user, response_id)
    error = OpenAIError(
        405,
        f"responses cannot be deleted: {response_id} is kept as a thread of its caller "
        "(its usage and cost count toward budgets and analytics)",
        type_="invalid_request_error",
        code="method_not_allowed",
    )
    return error.response(headers={"Allow": "GET"})


async def _stored(service: Service, user: Principal, response_id: str) -> StoredRun:
    missing = not_found(response_id, param="response_id", code="not_found")
    return await stored_run(service, user, response_id, missing=missing)


async def _events(
    feed: RunFeed,
    pending: ResponseObject,
    *,
    live: bool,
    fmt: ResponseFormat | None,
    service: Service,
) -> AsyncIterator[str]:
    """The Responses stream; `live` streams round 1's text as it is generated."""
    emit = EventWriter()
    thread_id = feed.run.thread_id
    yield emit("response.created", response=pending)
    yield emit("response.in_progress", response=pending)
    opened = False
    async with contextlib.aclosing(answer_parts(feed, live=live, fmt=fmt)) as parts:
        async for part in parts:
            if isinstance(part, Keepalive):
                yield ": keep-alive\n\n"
            elif isinstance(part, Text):
                if not opened:
                    for event in message_opening(emit, thread_id):
                        yield event
                    opened = True
                yield text_delta(emit, thread_id, part.text)
            elif isinstance(part, Failed):
                yield emit("response.failed", response=failed(pending, part.error))
            else:
                ext = extension(
                    feed.run.thread_id, part.result, part.chosen, replay=is_replay(service)
                )
                final = finish(pending, thread_id, part, ext)
                for event in closing_events(emit, final, thread_id=thread_id, opened=opened):
                    yield event
