"""OpenAI-compatible chat completions over orchestrations, so existing OpenAI clients work.

Models:
- `orchestratex/auto`: analysis, selection and one generation. That round is judged by one judge
  (the score feeds the answer's `score`, the learned history and selection accuracy), and no
  revision follows (`max_rounds=1`). Streams live.
- `orchestratex/refine`: the full loop with the deployment's defaults. Streaming sends keep-alive
  comments while the run goes on, then the pieces of the best round's answer once it is known.
- any catalog key: passthrough. That model answers, with every option and tool of the body, in
  one upstream call; no judge, unless the request falls in the `passthrough_judge_rate` sample.
  Streams live, tool calls included.
With a JSON `response_format`, the orchestrating models return the best round whose answer
satisfies it (and stream it once known); see `openai_request` for how each option is handled.

Replayed answers (replay mode) carry `system_fingerprint: "orchestratex-replay"` and the header
`X-OrchestrateX-Replay: true`. Every run is stored as a thread of the calling user, like runs
started through /api/orchestrate.
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
from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.openai_errors import OpenAIRoute, model_not_found
from orchestratex.api.openai_request import plan
from orchestratex.api.openai_run import RunFeed
from orchestratex.api.openai_schema import (
    AUTO_MODEL,
    REFINE_MODEL,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    Extension,
    FunctionCallOut,
    ModelCard,
    ModelList,
    ResponseMessage,
    ToolCallDeltaOut,
    ToolCallOut,
    Usage,
)
from orchestratex.core.orchestration import OrchestrationResult, RoundResult
from orchestratex.core.types import ResponseFormat, ToolCall
from orchestratex.runtime.service import Service

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)

OWNER = "orchestratex"
REPLAY_FINGERPRINT = "orchestratex-replay"
REPLAY_HEADER = "X-OrchestrateX-Replay"


def is_replay(service: Service) -> bool:
    """Whether answers are replayed recordings (replay mode), not live model calls."""
    return service.mode == "replay"


def replay_headers(service: Service) -> dict[str, str]:
    return {REPLAY_HEADER: "true"} if is_replay(service) else {}


def usage_of(result: OrchestrationResult) -> Usage:
    return Usage(
        prompt_tokens=result.usage.input_tokens,
        completion_tokens=result.usage.output_tokens,
        total_tokens=result.usage.total_tokens,
    )


def extension(
    thread_id: str, result: OrchestrationResult, answer: RoundResult, *, replay: bool
) -> Extension:
    verdicts = [v for r in result.rounds for v in r.verdicts]
    return Extension(
        thread_id=thread_id,
        selected_model=answer.model,
        score=answer.score if answer.round != result.best_round else result.score,
        rounds=len(result.rounds),
        best_round=answer.round,
        stop_reason=result.stop_reason,
        cost_usd=result.total_cost_usd,
        judged=any(v.score is not None for v in verdicts),
        judge_cost_usd=sum(v.cost_usd for v in verdicts),
        replay=replay,
    )


@router.get("/models")
async def list_models(service: ServiceDep, user: CurrentUser) -> ModelList:
    """The two orchestrating models, then every available catalog model."""
    now = int(time.time())
    cards = [ModelCard(id=key, created=now, owned_by=OWNER) for key in (AUTO_MODEL, REFINE_MODEL)]
    cards += [
        ModelCard(id=spec.key, created=now, owned_by=spec.provider)
        for spec in service.catalog.available(service.env)
    ]
    return ModelList(data=cards)


@router.get("/models/{model_id:path}")
async def retrieve_model(model_id: str, service: ServiceDep, user: CurrentUser) -> ModelCard:
    """One model of the list (the OpenAI SDKs' `models.retrieve`); 404 for any other id."""
    listed = await list_models(service, user)
    for card in listed.data:
        if card.id == model_id:
            return card
    raise model_not_found(model_id)


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: ServiceDep, user: CurrentUser
) -> Response:
    """Answer a conversation with an orchestration; `stream` gives chat.completion.chunk SSE."""
    planned = plan(body, service)
    fmt = None if planned.passthrough else planned.request.options.response_format
    feed = await RunFeed.start(service, planned, user, live=bool(body.stream))
    completion_id = f"chatcmpl-{feed.run.thread_id}"
    created = int(time.time())
    headers = replay_headers(service)
    if body.stream:
        live = body.model != REFINE_MODEL and fmt is None
        stream = _stream(feed, body, completion_id, created, live=live, fmt=fmt, service=service)
        return event_stream(stream, headers)
    run = await finished(feed, request)
    result, chosen = await answer_round(run, fmt)
    calls = run.calls_of(chosen)
    message = ResponseMessage(
        content=chosen.answer if chosen.answer or not calls else None,
        tool_calls=[_call_out(c) for c in calls] or None,
    )
    completion = ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        system_fingerprint=REPLAY_FINGERPRINT if is_replay(service) else None,
        choices=[Choice(message=message, finish_reason=run.finish_reason(chosen))],
        usage=usage_of(result),
        orchestratex=extension(run.thread_id, result, chosen, replay=is_replay(service)),
    )
    return Response(
        completion.model_dump_json(by_alias=True), media_type="application/json", headers=headers
    )


def _call_out(call: ToolCall) -> ToolCallOut:
    return ToolCallOut(
        id=call.id, function=FunctionCallOut(name=call.name, arguments=call.arguments)
    )


def _call_deltas(calls: list[ToolCall]) -> list[Delta]:
    """Each tool call as two deltas: its id and name, then its arguments."""
    deltas: list[Delta] = []
    for index, call in enumerate(calls):
        head = ToolCallDeltaOut(
            index=index, id=call.id, type="function", function={"name": call.name, "arguments": ""}
        )
        deltas.append(Delta(tool_calls=[head]))
        body = ToolCallDeltaOut(index=index, function={"arguments": call.arguments})
        deltas.append(Delta(tool_calls=[body]))
    return deltas


_MARK = "\x00text\x00"
"""Stands for the text in the one text-chunk event rendered per stream, which is split at it."""


def _sse(chunk: ChatCompletionChunk) -> str:
    """One SSE event; unset delta fields and an absent extension are left out."""
    data = chunk.model_dump(mode="json")
    if data["orchestratex"] is None:
        del data["orchestratex"]
    for choice in data["choices"]:
        delta = {k: v for k, v in choice["delta"].items() if v is not None}
        for call in delta.get("tool_calls", []):
            for key in ("id", "type"):
                if call[key] is None:
                    del call[key]
        choice["delta"] = delta
    return f"data: {json.dumps(data)}\n\n"


async def _stream(
    feed: RunFeed,
    body: ChatCompletionRequest,
    completion_id: str,
    created: int,
    *,
    live: bool,
    fmt: ResponseFormat | None,
    service: Service,
) -> AsyncIterator[str]:
    """Chunks as the OpenAI API sends them; `live` streams round 1's text as it is generated."""
    replay = is_replay(service)
    fingerprint = REPLAY_FINGERPRINT if replay else None

    def chunk(delta: Delta, finish: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=completion_id,
            created=created,
            model=body.model,
            system_fingerprint=fingerprint,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
        )

    # A text chunk differs from the others only by its text: render the model once and splice.
    head, tail = _sse(chunk(Delta(content=_MARK))).split(json.dumps(_MARK), 1)
    yield _sse(chunk(Delta(role="assistant", content="")))
    async with contextlib.aclosing(answer_parts(feed, live=live, fmt=fmt)) as parts:
        async for part in parts:
            if isinstance(part, Keepalive):
                yield ": keep-alive\n\n"
            elif isinstance(part, Text):
                yield head + json.dumps(part.text) + tail
            elif isinstance(part, Failed):
                yield f"data: {json.dumps(part.error.body())}\n\n"
            else:
                for delta in _call_deltas(part.calls):
                    yield _sse(chunk(delta))
                final = chunk(Delta(), part.finish_reason)
                final.orchestratex = extension(
                    feed.run.thread_id, part.result, part.chosen, replay=replay
                )
                yield _sse(final)
                if body.include_usage:
                    usage_chunk = ChatCompletionChunk(
                        id=completion_id,
                        created=created,
                        model=body.model,
                        system_fingerprint=fingerprint,
                        choices=[],
                        usage=usage_of(part.result),
                    )
                    yield _sse(usage_chunk)
    yield "data: [DONE]\n\n"
