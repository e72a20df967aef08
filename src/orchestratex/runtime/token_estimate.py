"""An estimate of a call's input tokens, for clients that ask before they send
(`POST /v1/messages/count_tokens`).

Counted with OpenAI's `cl100k_base` BPE (the replay's GPT-4 tokenizer, bundled, no download) the
way OpenAI documents chat input: 3 tokens per message, its role and content, and 3 to prime the
reply; tool calls, tool definitions and a JSON output schema are counted as their JSON text.
No other provider publishes its tokenizer for offline use, so the figure is the same for every
model: an estimate, not what a provider will bill (Mistral v1 counts 1.1-1.3x as many on English
prose and code). The budget gate never uses it: it holds the byte bound
(`engine/admission.input_tokens_bound`), which no real tokenizer exceeds.

The tokenizer loads once per process (a fraction of a second) and long inputs take milliseconds
to encode, so both run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json

from orchestratex.core.orchestration import OrchestrationRequest
from orchestratex.core.types import CompletionRequest
from orchestratex.engine.generation import completion_request, initial_messages
from orchestratex.providers.replay_tokens import tokenizers


def _count(call: CompletionRequest) -> int:
    counts = tokenizers()
    total = counts.gpt4_chat(call.messages)
    extra = [
        json.dumps(
            [{"name": c.name, "arguments": c.arguments} for c in message.tool_calls],
            ensure_ascii=False,
        )
        for message in call.messages
        if message.tool_calls
    ]
    extra += [tool.model_dump_json(exclude_none=True) for tool in call.tools or []]
    if call.response_format is not None:
        extra.append(call.response_format.model_dump_json(exclude_none=True))
    return total + sum(counts.gpt4_text(text) for text in extra)


async def estimate_input_tokens(request: OrchestrationRequest) -> int:
    """The input tokens of the request's first answering call, as cl100k_base counts them (see
    the module docstring)."""
    call = completion_request(request, initial_messages(request), "generate")
    return await asyncio.to_thread(_count, call)
