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
from orchestratex.core.orchestration import OrchestrationRequest, OrchestrationResult
from orchestratex.core.types import ChatMessage, ToolCall
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
    outcome = await service.thread_outcome(thread_id, user=user)
    if outcome is None:
        raise _not_found(response_id)
    if outcome.status != "completed" or outcome.request is None or outcome.result is None:
        raise bad_request(
            f"previous response {response_id!r} has no answer to continue from "
            f"(its run is {outcome.status})",
            param=PARAM,
        )
    try:
        request = OrchestrationRequest.model_validate(outcome.request)
        result = OrchestrationResult.model_validate(outcome.result)
    except ValidationError:
        raise bad_request(
            f"previous response {response_id!r} was stored in a form this version cannot read",
            param=PARAM,
        ) from None
    best = next((r for r in result.rounds if r.round == result.best_round), None)
    if best is None or result.answer is None:
        raise bad_request(f"previous response {response_id!r} has no answer", param=PARAM)
    sent = request.messages or [ChatMessage(role="user", content=request.prompt)]
    turns = [_chat(m) for m in sent if m.role not in ("system", "developer")]
    answer: dict[str, Any] = {"role": "assistant", "content": result.answer or None}
    if best.tool_calls:
        answer["tool_calls"] = [_call(c) for c in best.tool_calls]
    return [*turns, answer]


def _chat(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [_call(c) for c in message.tool_calls]
        out["content"] = message.content or None
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _call(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}
