"""A conversation turn in the chat-completions shape: what OpenAI-protocol providers are sent,
and what `/v1/responses` brings back from an earlier response (`api/responses_chain.py`)."""

from __future__ import annotations

from typing import Any

from orchestratex.core.types import ChatMessage


def chat_message(message: ChatMessage) -> dict[str, Any]:
    """One message in the chat-completions shape, tool calls and tool results included."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    shaped: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        shaped["content"] = message.content or None
        shaped["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    return shaped
