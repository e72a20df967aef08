"""`previous_response_id` on POST /v1/responses: the earlier exchange, from the caller's threads.

Every response is a thread of its caller (`resp_<thread id>`), stored with the conversation its
model was sent and the answer it chose, tool calls included. A request naming an earlier response
continues from there, as OpenAI's stored responses do: the earlier conversation (without its
system and developer messages: `instructions` are not carried over) and the earlier answer come
before the new `input`. That earlier conversation holds what its own `previous_response_id`
brought, so a chain of any length is one lookup. Only the caller's own responses can be named
(an admin's key may name any); another's, or one that does not exist, is a 404 like OpenAI's.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from orchestratex.api.openai_errors import OpenAIError, bad_request
from orchestratex.core.chat_shape import chat_message
from orchestratex.core.orchestration import OrchestrationRequest, OrchestrationResult
from orchestratex.core.types import ChatMessage
from orchestratex.runtime.auth import Principal
from orchestratex.runtime.service import Service

RESPONSE_PREFIX = "resp_"
PARAM = "previous_response_id"


def _not_found(response_id: str) -> OpenAIError:
    return OpenAIError(
        404,
        f"Previous response with id {response_id!r} not found.",
        type_="invalid_request_error",
        code="previous_response_not_found",
        param=PARAM,
    )


async def earlier_turns(
    service: Service, user: Principal, response_id: str
) -> list[dict[str, Any]]:
    """The chat messages of response `response_id`'s conversation and answer, oldest first."""
    thread_id = response_id.removeprefix(RESPONSE_PREFIX)
    if thread_id == response_id or not thread_id:
        raise _not_found(response_id)
    detail = await service.thread_detail(thread_id, user=user)
    if detail is None:
        raise _not_found(response_id)
    status = detail.thread.status
    if status != "completed" or detail.request is None or detail.result is None:
        raise bad_request(
            f"previous response {response_id!r} has no answer to continue from "
            f"(its run is {status})",
            param=PARAM,
        )
    try:
        request = OrchestrationRequest.model_validate(detail.request)
        result = OrchestrationResult.model_validate(detail.result)
    except ValidationError:
        raise bad_request(
            f"previous response {response_id!r} was stored in a form this version cannot read",
            param=PARAM,
        ) from None
    best = next((r for r in result.rounds if r.round == result.best_round), None)
    if best is None or result.answer is None:
        raise bad_request(f"previous response {response_id!r} has no answer", param=PARAM)
    sent = request.messages or [ChatMessage(role="user", content=request.prompt)]
    answer = ChatMessage(role="assistant", content=result.answer, tool_calls=tuple(best.tool_calls))
    return [chat_message(m) for m in [*sent, answer] if m.role not in ("system", "developer")]
