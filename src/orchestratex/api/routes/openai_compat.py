"""OpenAI-compatible chat completions over orchestrations, so existing OpenAI clients work.

Models:
- `orchestratex/auto`: analysis, selection and one generation. That round is judged by one judge
  (the engine always judges a round: the score feeds the answer's `score`, the learned history
  and selection accuracy), and no revision follows (`max_rounds=1`). Streams live.
- `orchestratex/refine`: the full loop with the deployment's defaults. Streaming sends keep-alive
  comments while the run goes on, then the pieces of the best round's answer once it is known.
- any catalog key: that model answers, in one round, as for `orchestratex/auto`. Streams live.

Every run is stored as a thread of the calling user, like runs started through /api/orchestrate.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from orchestratex.api.deps import CurrentUser, ServiceDep
from orchestratex.api.openai_errors import OpenAIError, OpenAIRoute, error_type, model_not_found
from orchestratex.api.openai_run import FollowedRun, RunFeed, Tick
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
    ModelCard,
    ModelList,
    ResponseMessage,
    Usage,
    to_prompt,
)
from orchestratex.core.events import ResponseChunkEvent
from orchestratex.core.orchestration import OrchestrationRequest, OrchestrationResult
from orchestratex.runtime.service import Service

router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)

KEEPALIVE_S = 10.0
"""Seconds of silence after which a stream gets a keep-alive comment."""
OWNER = "orchestratex"


def _request(body: ChatCompletionRequest, service: Service) -> OrchestrationRequest:
    """The orchestration for a chat-completions body; raises model_not_found for unknown models."""
    prompt, system = to_prompt(body.messages)
    settings = service.settings
    common: dict[str, object] = {"prompt": prompt, "system": system}
    if body.output_tokens is not None:
        common["max_tokens"] = body.output_tokens
    if body.model == REFINE_MODEL:
        return OrchestrationRequest.model_validate(
            {
                **common,
                "max_rounds": settings.default_max_rounds,
                "threshold": settings.default_threshold,
                "judge_count": settings.judge_count,
            }
        )
    single = {**common, "max_rounds": 1, "threshold": settings.default_threshold, "judge_count": 1}
    if body.model == AUTO_MODEL:
        return OrchestrationRequest.model_validate(single)
    available = {spec.key for spec in service.catalog.available(service.env)}
    if body.model not in available:
        raise model_not_found(body.model)
    return OrchestrationRequest.model_validate({**single, "model": body.model})


def _usage(result: OrchestrationResult) -> Usage:
    return Usage(
        prompt_tokens=result.usage.input_tokens,
        completion_tokens=result.usage.output_tokens,
        total_tokens=result.usage.total_tokens,
    )


def _extension(run: FollowedRun, result: OrchestrationResult) -> Extension:
    best = next((r for r in result.rounds if r.round == result.best_round), None)
    return Extension(
        thread_id=run.thread_id,
        selected_model=best.model if best else None,
        score=result.score,
        rounds=len(result.rounds),
        best_round=result.best_round,
        stop_reason=result.stop_reason,
        cost_usd=result.total_cost_usd,
    )


def _outcome(run: FollowedRun) -> OrchestrationResult:
    """The completed result, or the OpenAI-shaped error for a run that gave no answer."""
    result = run.result
    if result is not None and result.status == "completed" and result.answer is not None:
        return result
    if run.lost is not None:
        raise OpenAIError(503, run.lost, type_="server_error", code="unavailable")
    if result is not None and result.status == "cancelled":
        raise OpenAIError(503, "the run was cancelled", type_="server_error", code="cancelled")
    message = (result.error if result is not None else None) or "the run failed"
    code = getattr(run.terminal, "code", "failed")
    status = 402 if code == "budget_exceeded" else 502
    raise OpenAIError(status, message, type_=error_type(status), code=code)


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


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, service: ServiceDep, user: CurrentUser
) -> ChatCompletion | Response:
    """Answer a conversation with an orchestration; `stream` gives chat.completion.chunk SSE."""
    request = _request(body, service)
    feed = await RunFeed.start(service, request, user)
    completion_id = f"chatcmpl-{feed.run.thread_id}"
    created = int(time.time())
    if body.stream:
        stream = _stream(feed, body, completion_id, created, live=body.model != REFINE_MODEL)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    try:
        run = await feed.finish()
    finally:
        await feed.close()
    result = _outcome(run)
    assert result.answer is not None
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[
            Choice(
                message=ResponseMessage(content=result.answer), finish_reason=run.finish_reason()
            )
        ],
        usage=_usage(result),
        orchestratex=_extension(run, result),
    )


def _sse(chunk: ChatCompletionChunk) -> str:
    """One SSE event; unset delta fields and an absent extension are left out."""
    data = chunk.model_dump(mode="json")
    if data["orchestratex"] is None:
        del data["orchestratex"]
    for choice in data["choices"]:
        choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
    return f"data: {json.dumps(data)}\n\n"


async def _stream(
    feed: RunFeed, body: ChatCompletionRequest, completion_id: str, created: int, *, live: bool
) -> AsyncIterator[str]:
    """Chunks as the OpenAI API sends them; `live` streams round 1's text as it is generated."""

    def chunk(delta: Delta, finish: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=completion_id,
            created=created,
            model=body.model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
        )

    run = feed.run
    sent: list[str] = []
    try:
        yield _sse(chunk(Delta(role="assistant", content="")))
        async for event in feed.events(KEEPALIVE_S):
            if isinstance(event, Tick):
                yield ": keep-alive\n\n"
            elif (
                live
                and isinstance(event, ResponseChunkEvent)
                and event.round == 1
                and run.models.get(1) == event.model
            ):
                sent.append(event.text)
                yield _sse(chunk(Delta(content=event.text)))
        try:
            result = _outcome(run)
        except OpenAIError as error:
            yield f"data: {json.dumps(error.body())}\n\n"
            yield "data: [DONE]\n\n"
            return
        if not sent:
            for piece in run.best_pieces():
                yield _sse(chunk(Delta(content=piece)))
        final = chunk(Delta(), run.finish_reason())
        final.orchestratex = _extension(run, result)
        yield _sse(final)
        if body.include_usage:
            usage_chunk = ChatCompletionChunk(
                id=completion_id,
                created=created,
                model=body.model,
                choices=[],
                usage=_usage(result),
            )
            yield _sse(usage_chunk)
        yield "data: [DONE]\n\n"
    finally:
        await feed.close()
