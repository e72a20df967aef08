"""A stored response (`resp_<thread id>`), read from the caller's threads, and
`previous_response_id` on POST /v1/responses.

Every response is a thread of its caller (`resp_<thread id>`), stored with the conversation its
model was sent and the answer it chose, tool calls included. `stored_run` is the one read of it:
GET /v1/responses/{id} (`responses_stored`) and `previous_response_id` both go through it. Only
the caller's own responses can be read (an admin's key may read any); another's, or one that does
not exist, is a 404 like OpenAI's.

A request naming an earlier response continues from there, as OpenAI's stored responses do: the
earlier conversation (without its system and developer messages: `instructions` are not carried
over) and the earlier answer come before the new `input`. That earlier conversation holds what
its own `previous_response_id` brought, so a chain of any length is one lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from orchestratex.api.openai_errors import OpenAIError, bad_request
from orchestratex.core.chat_shape import chat_message
from orchestratex.core.orchestration import (
    OrchestrationRequest,
    OrchestrationResult,
    RoundResult,
)
from orchestratex.core.types import ChatMessage
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.service import Service, ThreadDetail

RESPONSE_PREFIX = "resp_"
PARAM = "previous_response_id"


def not_found(response_id: str, *, param: str, code: str, what: str = "Response") -> OpenAIError:
    """OpenAI's 404 for a response the caller cannot read (unknown, or another user's)."""
    return OpenAIError(
        404,
        f"{what} with id {response_id!r} not found.",
        type_="invalid_request_error",
        code=code,
        param=param,
    )


@dataclass(frozen=True)
class StoredRun:
    """A response as stored: its thread, and its request and result when this version reads
    them (`readable`; a run not ended yet has no result)."""

    thread_id: str
    detail: ThreadDetail
    request: OrchestrationRequest | None
    result: OrchestrationResult | None
    readable: bool


async def stored_run(
    service: Service, user: Principal, response_id: str, *, missing: OpenAIError
) -> StoredRun:
    """The caller's response `response_id`; raises `missing` when there is none to read."""
    thread_id = response_id.removeprefix(RESPONSE_PREFIX)
    if thread_id == response_id or not thread_id:
        raise missing
    detail = await service.thread_detail(thread_id, user=user)
    if detail is None:
        raise missing
    try:
        request = (
            None if detail.request is None else OrchestrationRequest.model_validate(detail.request)
        )
        result = (
            None if detail.result is None else OrchestrationResult.model_validate(detail.result)
        )
    except ValidationError:
        return StoredRun(thread_id, detail, None, None, readable=False)
    return StoredRun(thread_id, detail, request, result, readable=True)


def sent_messages(request: OrchestrationRequest) -> list[ChatMessage]:
    """The conversation the run's model was sent (its system message first, if any)."""
    if request.messages:
        return list(request.messages)
    system = [ChatMessage(role="system", content=request.system)] if request.system else []
    return [*system, ChatMessage(role="user", content=request.prompt)]


def best_round_of(result: OrchestrationResult) -> RoundResult | None:
    """The round whose answer won."""
    return next((r for r in result.rounds if r.round == result.best_round), None)


async def earlier_turns(
    service: Service, user: Principal, response_id: str
) -> list[dict[str, Any]]:
    """The chat messages of response `response_id`'s conversation and answer, oldest first."""
    missing = not_found(
        response_id, param=PARAM, code="previous_response_not_found", what="Previous response"
    )
    stored = await stored_run(service, user, response_id, missing=missing)
    status = stored.detail.thread.status
    if status != "completed" or stored.detail.request is None or stored.detail.result is None:
        raise bad_request(
            f"previous response {response_id!r} has no answer to continue from "
            f"(its run is {status})",
            param=PARAM,
        )
    request, result = stored.request, stored.result
    if request is None or result is None:
        raise bad_request(
            f"previous response {response_id!r} was stored in a form this version cannot read",
            param=PARAM,
        )
    best = best_round_of(result)
    if best is None or result.answer is None:
        raise bad_request(f"previous response {response_id!r} has no answer", param=PARAM)
    answer = ChatMessage(role="assistant", content=result.answer, tool_calls=tuple(best.tool_calls))
    sent = sent_messages(request)
    return [chat_message(m) for m in [*sent, answer] if m.role not in ("system", "developer")]
