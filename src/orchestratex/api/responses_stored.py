"""A stored response read back: `GET /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`.

The response is rebuilt from the caller's thread (`responses_chain.stored_run`): its request (the
conversation, model, options) and its result (the answer, tool calls, usage), through the same
`finish` the POST's reply goes through. What the thread does not keep is reported as its default:
`metadata` ({}), `user` (null), `store` (true: every run is kept), `text.format.description`; and
`instructions` is the conversation's leading system message (the POST's `instructions`, or an
`input` that began with a system message). `created_at` is the run's start as stored, which can
be one second after the POST's. The `orchestratex` extension's `replay` tells the service's mode
now. Input items are the conversation the model was sent, `previous_response_id`'s turns
included, without the instructions, with positional ids (`item_<thread id>_<n>`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel

from orchestratex.api.answer_parts import Answer
from orchestratex.api.openai_errors import OpenAIError, bad_request
from orchestratex.api.openai_format import best_conforming
from orchestratex.api.openai_schema import AUTO_MODEL, REFINE_MODEL
from orchestratex.api.responses_chain import StoredRun, best_round_of, sent_messages
from orchestratex.api.responses_format import (
    FunctionCallItem,
    OutputMessage,
    OutputText,
    ResponseError,
    ResponseObject,
    Status,
    call_item,
    finish,
)
from orchestratex.api.routes.openai_compat import extension
from orchestratex.core.orchestration import OrchestrationRequest, RoundResult
from orchestratex.core.types import ChatMessage

RUNNING: dict[str, Status] = {"queued": "queued", "running": "in_progress"}


def _echo(stored: StoredRun, request: OrchestrationRequest) -> ResponseObject:
    """The response with nothing answered yet: the request's settings as stored."""
    options = request.options
    sent = sent_messages(request)
    instructions = sent[0].content if sent and sent[0].role == "system" else None
    fmt = options.response_format
    text: dict[str, Any] = {"type": "text"}
    if fmt is not None and fmt.type == "json_object":
        text = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        text = {"type": "json_schema", "name": fmt.name, "schema": fmt.json_schema}
        text |= {"strict": fmt.strict} if fmt.strict is not None else {}
    choice = options.tool_choice
    echoed_choice: str | dict[str, Any] = "auto" if choice is None else choice.mode
    if choice is not None and choice.mode == "function":
        echoed_choice = {"type": "function", "name": choice.name}
    return ResponseObject(
        id=f"resp_{stored.thread_id}",
        created_at=int(stored.detail.thread.created_at.timestamp()),
        status="in_progress",
        instructions=instructions,
        max_output_tokens=request.max_tokens,
        model=_model_name(request),
        output=[],
        parallel_tool_calls=options.parallel_tool_calls is not False,
        store=True,
        temperature=options.temperature,
        top_p=options.top_p,
        text={"format": text},
        tool_choice=echoed_choice,
        tools=[{"type": "function", **tool.model_dump()} for tool in options.tools or []],
        user=None,
        metadata={},
    )


def _model_name(request: OrchestrationRequest) -> str:
    """The model the POST named: a catalog key, or the orchestrating name its rounds tell."""
    if request.model is not None:
        return request.model
    return REFINE_MODEL if request.max_rounds > 1 else AUTO_MODEL


async def stored_response(stored: StoredRun, *, replay: bool) -> ResponseObject:
    """The response as the POST returned it, or as it stands while its run goes on."""
    request, result = stored.request, stored.result
    if not stored.readable or request is None:
        raise OpenAIError(
            500,
            "this response was stored in a form this version cannot read",
            type_="server_error",
            code="unreadable_response",
        )
    pending = _echo(stored, request)
    thread = stored.detail.thread
    if thread.status in RUNNING:
        return pending.model_copy(update={"status": RUNNING[thread.status]})
    chosen = await _chosen(request, result) if result is not None else None
    if thread.status != "completed" or result is None or chosen is None:
        status: Status = "cancelled" if thread.status == "cancelled" else "failed"
        error = ResponseError(code="server_error", message=thread.error or f"the run {status}")
        return pending.model_copy(update={"status": status, "error": error})
    reason = next(
        (
            r.finish_reason
            for r in stored.detail.rounds
            if (r.round, r.model) == (chosen.round, chosen.model)
        ),
        "stop",
    )
    answer = Answer(result, chosen, list(chosen.tool_calls), reason)
    ext = extension(stored.thread_id, result, chosen, replay=replay)
    return finish(pending, stored.thread_id, answer, ext)


async def _chosen(request: OrchestrationRequest, result: Any) -> RoundResult | None:
    """The round the POST returned: the best one, or with a JSON format (orchestrated runs
    only) the best that satisfies it (checked in a worker thread, as the POST did)."""
    fmt = request.options.response_format
    if request.model is not None or fmt is None:
        return best_round_of(result)
    return await asyncio.to_thread(best_conforming, result, fmt)


class InputText(BaseModel):
    type: Literal["input_text"] = "input_text"
    text: str


class InputMessage(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer"]
    status: Literal["completed"] = "completed"
    content: list[InputText]


class CallOutputItem(BaseModel):
    id: str
    type: Literal["function_call_output"] = "function_call_output"
    status: Literal["completed"] = "completed"
    call_id: str
    output: str


InputItem = InputMessage | OutputMessage | FunctionCallItem | CallOutputItem


class InputItemList(BaseModel):
    object: Literal["list"] = "list"
    data: list[InputItem]
    first_id: str | None
    last_id: str | None
    has_more: bool


def input_items(
    stored: StoredRun, *, limit: int, order: Literal["asc", "desc"], after: str | None
) -> InputItemList:
    """A page of the response's input as Responses items (see the module docstring): `limit`
    items after the one with id `after`, in `order` (`desc`: newest first, OpenAI's default)."""
    sent = sent_messages(stored.request) if stored.request is not None else []
    if sent and sent[0].role == "system":
        sent = sent[1:]
    shaped = [item for message in sent for item in _items(message)]
    items = [
        item.model_copy(update={"id": f"item_{stored.thread_id}_{n}"})
        for n, item in enumerate(shaped)
    ]
    if order == "desc":
        items.reverse()
    start = 0
    if after is not None:
        start = next((n + 1 for n, item in enumerate(items) if item.id == after), -1)
        if start < 0:
            raise bad_request(f"no input item with id {after!r} in this response", param="after")
    page = items[start : start + limit]
    return InputItemList(
        data=page,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
        has_more=start + limit < len(items),
    )


def _items(message: ChatMessage) -> list[InputItem]:
    """One chat message as Responses items (ids given by the caller)."""
    if message.role == "tool":
        assert message.tool_call_id is not None
        return [CallOutputItem(id="", call_id=message.tool_call_id, output=message.content)]
    if message.role != "assistant":
        text = [InputText(text=message.content)]
        return [InputMessage(id="", role=message.role, content=text)]
    out: list[InputItem] = []
    if message.content or not message.tool_calls:
        answer = [OutputText(text=message.content)]
        out.append(OutputMessage(id="", status="completed", content=answer))
    out += [call_item(call) for call in message.tool_calls]
    return out
