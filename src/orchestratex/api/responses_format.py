"""The Responses API's reply shapes: the `response` object, its output items, and stream events.

A run's answer is one `message` output item (id `msg_<thread id>`, one `output_text` part)
unless it is only tool calls, then one `function_call` item per tool call (id `fc_<call id>`,
`call_id` the call's id). A reply cut at `max_output_tokens` is `status: "incomplete"` with
`incomplete_details.reason: "max_output_tokens"` (a content filter: `"content_filter"`).
Stream events are numbered from 0 by `sequence_number`, in the order the OpenAI API sends them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from orchestratex.api.answer_parts import Answer
from orchestratex.api.openai_errors import OpenAIError
from orchestratex.api.openai_schema import Extension
from orchestratex.api.responses_schema import ResponsesRequest
from orchestratex.core.types import ToolCall

Status = Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""Chat finish reasons that leave a response incomplete, and the reason it then gives."""


class OutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)
    logprobs: list[Any] = Field(default_factory=list)


class OutputMessage(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    status: Status
    content: list[OutputText]


class FunctionCallItem(BaseModel):
    id: str
    type: Literal["function_call"] = "function_call"
    status: Status
    call_id: str
    name: str
    arguments: str


class InputTokensDetails(BaseModel):
    cached_tokens: int = 0


class OutputTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int


class ResponseError(BaseModel):
    code: str
    message: str


class IncompleteDetails(BaseModel):
    reason: str


class ResponseObject(BaseModel):
    """The `response` object, with the request's settings echoed as the OpenAI API does."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Status
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None
    max_output_tokens: int | None
    model: str
    output: list[OutputMessage | FunctionCallItem]
    parallel_tool_calls: bool
    previous_response_id: None = None
    reasoning: None = None
    background: bool = False
    store: bool
    temperature: float | None
    top_p: float | None
    text: dict[str, Any]
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    truncation: Literal["disabled"] = "disabled"
    usage: ResponseUsage | None = None
    user: str | None
    metadata: dict[str, str]
    orchestratex: Extension | None = Field(
        default=None, description="what the orchestration did (absent until the run ends)"
    )


def response_object(
    body: ResponsesRequest,
    response_id: str,
    created_at: int,
    status: Status,
    *,
    max_output_tokens: int | None = None,
) -> ResponseObject:
    """The response with nothing answered yet; the request's settings echoed
    (`max_output_tokens`: the limit the run was given, when it is known)."""
    text = body.text.model_dump(by_alias=True, exclude_none=True) if body.text else {}
    return ResponseObject(
        id=response_id,
        created_at=created_at,
        status=status,
        instructions=body.instructions,
        max_output_tokens=max_output_tokens or body.max_output_tokens,
        model=body.model,
        output=[],
        parallel_tool_calls=body.parallel_tool_calls is not False,
        store=body.store is not False,
        temperature=body.temperature,
        top_p=body.top_p,
        text={"format": {"type": "text"}, **text},
        tool_choice=_echoed_choice(body),
        tools=[t.model_dump() for t in body.tools or []],
        user=body.user,
        metadata=body.metadata or {},
    )


def _echoed_choice(body: ResponsesRequest) -> str | dict[str, Any]:
    choice = body.tool_choice
    if choice is None or isinstance(choice, str):
        return choice or "auto"
    return choice.model_dump(exclude_none=True)


def status_of(finish_reason: str) -> Status:
    return "incomplete" if finish_reason in INCOMPLETE_REASONS else "completed"


def message_item(thread_id: str, text: str, status: Status) -> OutputMessage:
    return OutputMessage(id=f"msg_{thread_id}", status=status, content=[OutputText(text=text)])


def call_item(call: ToolCall) -> FunctionCallItem:
    return FunctionCallItem(
        id=f"fc_{call.id}",
        status="completed",
        call_id=call.id,
        name=call.name,
        arguments=call.arguments,
    )


def finish(
    response: ResponseObject, thread_id: str, answer: Answer, extension: Extension
) -> ResponseObject:
    """The response completed with the run's answer: output items, status, usage, extension."""
    status = status_of(answer.finish_reason)
    output: list[OutputMessage | FunctionCallItem] = []
    if answer.chosen.answer or not answer.calls:
        output.append(message_item(thread_id, answer.chosen.answer, status))
    output += [call_item(call) for call in answer.calls]
    usage = answer.result.usage
    reason = INCOMPLETE_REASONS.get(answer.finish_reason)
    return response.model_copy(
        update={
            "status": status,
            "output": output,
            "incomplete_details": IncompleteDetails(reason=reason) if reason else None,
            "usage": ResponseUsage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
            ),
            "orchestratex": extension,
        }
    )


def failed(response: ResponseObject, error: OpenAIError) -> ResponseObject:
    """The response of a run that gave no answer (OpenAI's codes: rate limit or server)."""
    code = "rate_limit_exceeded" if error.status == 429 else "server_error"
    return response.model_copy(
        update={"status": "failed", "error": ResponseError(code=code, message=error.message)}
    )


class EventWriter:
    """Server-sent events of one stream, numbered by `sequence_number` from 0."""

    def __init__(self) -> None:
        self.sequence = 0

    def __call__(self, kind: str, **payload: Any) -> str:
        data = {"type": kind, **_jsonable(payload), "sequence_number": self.sequence}
        self.sequence += 1
        return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        for key, value in payload.items()
    }


def message_opening(emit: EventWriter, thread_id: str) -> list[str]:
    """The events that open the answer's message item (index 0) and its text part."""
    item = OutputMessage(id=f"msg_{thread_id}", status="in_progress", content=[])
    return [
        emit("response.output_item.added", output_index=0, item=item),
        emit(
            "response.content_part.added",
            item_id=item.id,
            output_index=0,
            content_index=0,
            part=OutputText(text=""),
        ),
    ]


def text_delta(emit: EventWriter, thread_id: str, text: str) -> str:
    return emit(
        "response.output_text.delta",
        item_id=f"msg_{thread_id}",
        output_index=0,
        content_index=0,
        delta=text,
        logprobs=[],
    )


def closing_events(
    emit: EventWriter, final: ResponseObject, *, thread_id: str, opened: bool
) -> list[str]:
    """The end of a stream: the message's text, part and item done (opened first if no text
    was streamed), each tool call's item with its arguments, then the terminal event."""
    events: list[str] = []
    for index, item in enumerate(final.output):
        if isinstance(item, OutputMessage):
            if not opened:
                events += message_opening(emit, thread_id)
            part = item.content[0]
            where = {"item_id": item.id, "output_index": index}
            events += [
                emit(
                    "response.output_text.done",
                    **where,
                    content_index=0,
                    text=part.text,
                    logprobs=[],
                ),
                emit("response.content_part.done", **where, content_index=0, part=part),
                emit("response.output_item.done", output_index=index, item=item),
            ]
            continue
        started = item.model_copy(update={"status": "in_progress", "arguments": ""})
        where = {"item_id": item.id, "output_index": index}
        events += [
            emit("response.output_item.added", output_index=index, item=started),
            emit("response.function_call_arguments.delta", **where, delta=item.arguments),
            emit("response.function_call_arguments.done", **where, arguments=item.arguments),
            emit("response.output_item.done", output_index=index, item=item),
        ]
    kind = "response.completed" if final.status == "completed" else "response.incomplete"
    events.append(emit(kind, response=final))
    return events
