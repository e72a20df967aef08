"""Reading the benchmark targets: the fake provider's counters and the service's run gauges."""

from __future__ import annotations

import httpx

PROMPTS = (
    "Explain the CAP theorem in two paragraphs.",
    "Write a Python function that merges two sorted lists.",
    "What is the derivative of x^3 * sin(x)?",
    "Compare the trade-offs of monoliths and microservices.",
)
"""Prompts the benchmarks cycle through (analysis sees several domains)."""


def chat_body(model: str, index: int, *, stream: bool = False) -> dict[str, object]:
    """A chat-completions body for `model` with prompt number `index` (cycled)."""
    content = PROMPTS[index % len(PROMPTS)]
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if stream:
        body["stream"] = True
    return body


def messages_body(model: str, index: int, *, stream: bool = False) -> dict[str, object]:
    """The same prompt as `chat_body`, as an Anthropic Messages body (`POST /v1/messages`)."""
    body = chat_body(model, index, stream=stream)
    body["max_tokens"] = MESSAGES_MAX_TOKENS
    return body


MESSAGES_MAX_TOKENS = 1024
"""`max_tokens` of a Messages body (the API requires it; the fake's answers are shorter)."""


async def fake_completions(client: httpx.AsyncClient, fake_url: str) -> int:
    """Completion requests the fake provider has answered so far (all models)."""
    reply = await client.get(fake_url + "/stats")
    reply.raise_for_status()
    by_model: dict[str, int] = reply.json()["by_model"]
    return sum(by_model.values())


async def metric_value(client: httpx.AsyncClient, service_url: str, name: str) -> float:
    """The sum of every sample of metric `name` on the service's /metrics page (0 if none)."""
    reply = await client.get(service_url + "/metrics")
    reply.raise_for_status()
    total = 0.0
    for line in reply.text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        if head == name or head.startswith(name + "{"):
            total += float(value)
    return total


async def active_runs(client: httpx.AsyncClient, service_url: str) -> int:
    """Runs in progress in the service process, from its own gauge."""
    return int(await metric_value(client, service_url, "orchestratex_active_runs"))
