"""How a chat-completions body becomes one orchestration request, option by option.

- A named catalog model gets every option and the whole conversation, tools included, in one
  round that is not judged (one upstream call), except for the `passthrough_judge_rate` share
  of requests, which one judge scores. Options the model's wire protocol cannot carry are
  refused with a 400 before any call. Without a length it is asked for as many tokens as it
  can give (its catalog `max_output_tokens`), as its provider's API would.
- `orchestratex/auto` and `orchestratex/refine` honour sampling, stop, output length and
  `response_format` (every generation and revision gets them; only models whose protocol can
  carry them are candidates; the answer returned must satisfy the format, see
  `openai_format`). Tools, `tool_choice` and tool messages are refused with a 400: judging and
  revising a tool call has no meaning.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import ValidationError

from orchestratex.api.chat_prompt import message_text, to_prompt
from orchestratex.api.openai_errors import (
    OpenAIError,
    bad_request,
    model_not_found,
    not_supported,
)
from orchestratex.api.openai_schema import (
    AUTO_MODEL,
    REFINE_MODEL,
    AllowedToolsChoice,
    ChatCompletionRequest,
    MessageIn,
    NamedToolChoice,
)
from orchestratex.api.schema_check import schema_problem
from orchestratex.core.invalid import described, reason
from orchestratex.core.orchestration import GenerationOptions, OrchestrationRequest
from orchestratex.core.types import (
    ChatMessage,
    CompletionRequest,
    ResponseFormat,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from orchestratex.runtime.catalog_setup import refused_options, refuses_any
from orchestratex.runtime.service import Service

NAMED_DEFAULT_TOKENS = 4096
"""Output tokens a named model is asked for when the body gives no length and the catalog does
not know the model's limit (a model whose limit it knows is asked for that limit)."""


@dataclass(frozen=True)
class Plan:
    """The orchestration to run for a body, and how its answer is checked."""

    request: OrchestrationRequest
    passthrough: bool
    """A catalog model was named: one upstream call, its answer passed through as given. The
    run is submitted in the `passthrough` lane (runtime/runs.py `Lane`), which the request
    limit and the event writer read."""


def conversation(messages: list[MessageIn]) -> list[ChatMessage]:
    """The messages as the answering model gets them; `developer` turns count as system."""
    turns: list[ChatMessage] = []
    for index, message in enumerate(messages):
        text = message_text(message, index)
        if message.role == "function":
            raise bad_request(
                f"messages[{index}]: the 'function' role is deprecated and not supported; "
                "use tools and 'tool' messages",
                param="messages",
            )
        if message.role == "tool" and message.tool_call_id is None:
            raise bad_request(f"messages[{index}]: a tool message needs a tool_call_id", "messages")
        if message.tool_calls and message.role != "assistant":
            raise bad_request(
                f"messages[{index}]: only assistant turns carry tool_calls", "messages"
            )
        calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments)
            for c in message.tool_calls or []
        )
        role = "system" if message.role == "developer" else message.role
        turns.append(
            ChatMessage(
                role=role,
                content=text,
                tool_calls=calls,
                tool_call_id=message.tool_call_id if role == "tool" else None,
            )
        )
    return turns


def _response_format(body: ChatCompletionRequest) -> ResponseFormat | None:
    fmt = body.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat(type="json_object")
    spec = fmt.json_schema
    schema = spec.schema_ if spec is not None else None
    if spec is None or schema is None:
        raise bad_request("response_format json_schema needs a schema", param="response_format")
    problem = schema_problem(schema)
    if problem is not None:
        raise bad_request(f"response_format json_schema {problem}", param="response_format")
    return ResponseFormat(
        type="json_schema", name=spec.name, json_schema=schema, strict=spec.strict
    )


def _tool_choice(body: ChatCompletionRequest) -> ToolChoice | None:
    choice = body.tool_choice
    if choice is None:
        return None
    names = {t.function.name for t in body.tools or []}
    if isinstance(choice, NamedToolChoice):
        if choice.function.name not in names:
            raise bad_request("tool_choice names a function not in tools", param="tool_choice")
        return ToolChoice(mode="function", name=choice.function.name)
    if isinstance(choice, AllowedToolsChoice):
        if not {t.function.name for t in choice.allowed_tools.tools} <= names:
            raise bad_request("tool_choice allows a function not in tools", param="tool_choice")
        return ToolChoice(mode=choice.allowed_tools.mode)
    return ToolChoice(mode=choice)


def _allowed(body: ChatCompletionRequest) -> set[str] | None:
    """The functions `tool_choice: allowed_tools` lets the model call (None: all of `tools`)."""
    choice = body.tool_choice
    if not isinstance(choice, AllowedToolsChoice):
        return None
    return {t.function.name for t in choice.allowed_tools.tools}


def options(body: ChatCompletionRequest) -> GenerationOptions:
    """Every generation option of the body, checked. `allowed_tools` is carried by sending
    only the allowed functions, with its mode as the choice."""
    allowed = _allowed(body)
    tools = [
        ToolSpec(
            name=t.function.name,
            description=t.function.description,
            parameters=t.function.parameters,
            strict=t.function.strict,
        )
        for t in body.tools or []
        if allowed is None or t.function.name in allowed
    ]
    if body.tool_choice is not None and not tools and body.tool_choice != "none":
        raise bad_request("tool_choice needs tools", param="tool_choice")
    try:
        return GenerationOptions(
            temperature=body.temperature,
            top_p=body.top_p,
            seed=body.seed,
            presence_penalty=body.presence_penalty,
            frequency_penalty=body.frequency_penalty,
            stop=body.stop_list,
            response_format=_response_format(body),
            tools=tools or None,
            tool_choice=_tool_choice(body),
            parallel_tool_calls=body.parallel_tool_calls,
        )
    except ValidationError as exc:
        raise bad_request(f"invalid option: {reason(exc.errors()[0])}") from None


def _probe(opts: GenerationOptions, messages: list[ChatMessage]) -> CompletionRequest:
    """A stand-in call with these options, to ask each protocol what it cannot carry."""
    return CompletionRequest.model_validate({"messages": messages, **opts.model_dump()})


def _refusal(model: str, refused: dict[str, str]) -> OpenAIError:
    names = ", ".join(refused)
    reasons = "; ".join(refused.values())
    return bad_request(f"{model} cannot honour {names}: {reasons}", param=next(iter(refused)))


def plan(body: ChatCompletionRequest, service: Service) -> Plan:
    """The orchestration for a body; raises the OpenAI-shaped 400/404 for what cannot be run."""
    unsupported = body.unsupported()
    if unsupported:
        raise not_supported(unsupported)
    settings = service.settings
    orchestrating = body.model in (AUTO_MODEL, REFINE_MODEL)
    available = {spec.key: spec for spec in service.catalog.available(service.env)}
    if not orchestrating and body.model not in available:
        raise model_not_found(body.model)
    turns = conversation(body.messages)
    opts = options(body)
    uses_tools = bool(opts.tools) or any(m.role == "tool" or m.tool_calls for m in turns)
    if orchestrating and uses_tools:
        raise bad_request(
            f"{body.model} does not take tools or tool messages (its answers are judged and "
            "revised); name a catalog model to use tools",
            param="tools",
        )
    if orchestrating and body.messages and body.messages[-1].role == "assistant":
        raise bad_request(
            f"{body.model} answers a user message: a conversation that ends with an assistant "
            "turn (a prefill to continue) needs a named catalog model",
            param="messages",
        )
    # A named model takes any conversation its API takes; one ending with an assistant turn
    # Anthropic's models continue (prefill), OpenAI-protocol models answer after it.
    prompt, system = to_prompt(body.messages, any_ending=not orchestrating)
    common: dict[str, object] = {"prompt": prompt, "system": system, "options": opts}
    # A reply sent whole needs no token-by-token stream from the model (far less parsing).
    common["stream_answers"] = body.stream
    common["messages"] = turns
    if body.output_tokens is not None:
        common["max_tokens"] = body.output_tokens
    elif not orchestrating:  # as the provider's own API: as long as the model can answer
        common["max_tokens"] = available[body.model].max_output_tokens or NAMED_DEFAULT_TOKENS
    if not orchestrating:
        spec = available[body.model]
        protocol = service.catalog.providers[spec.provider].protocol
        # A protocol that carries every option (OpenAI's) needs no stand-in call to ask.
        refused = refused_options(protocol, _probe(opts, turns)) if refuses_any(protocol) else {}
        if refused:
            raise _refusal(body.model, refused)
        judged = random.random() < settings.passthrough_judge_rate
        request = {
            **common,
            "model": body.model,
            "max_rounds": 1,
            "threshold": settings.default_threshold,
            "judge_count": 1 if judged else 0,
        }
        return Plan(_validated(request), passthrough=True)
    probe = _probe(opts, turns)
    able = [
        key
        for key, spec in available.items()
        if not refused_options(service.catalog.providers[spec.provider].protocol, probe)
    ]
    if len(able) < len(available):
        if not able:
            refused = {}
            for spec in available.values():
                refused |= refused_options(service.catalog.providers[spec.provider].protocol, probe)
            raise _refusal(body.model, refused)
        common["preferences"] = {"allowed_models": able}
    if body.model == REFINE_MODEL:
        rounds = {
            "max_rounds": settings.default_max_rounds,
            "judge_count": settings.judge_count,
        }
    else:
        rounds = {"max_rounds": 1, "judge_count": 1}
    request = {**common, **rounds, "threshold": settings.default_threshold}
    return Plan(_validated(request), passthrough=False)


def _validated(fields: dict[str, object]) -> OrchestrationRequest:
    """The orchestration request; a field it refuses (NUL text, an over-long conversation) is
    the caller's error, a 400."""
    try:
        return OrchestrationRequest.model_validate(fields)
    except ValidationError as exc:
        raise bad_request(described(exc.errors()[0], whole="body"), param="messages") from None
