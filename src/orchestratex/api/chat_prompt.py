"""How a chat conversation becomes the prompt and system text of one run (kept simple on
purpose).

The answering model gets the whole conversation as sent (`OrchestrationRequest.messages`), tool
calls and tool results included. For analysis, the judges and the stored thread, `system` and
`developer` messages, joined by blank lines, become the request's `system`, and the last
message's text is the prompt, with earlier turns, if any, put before it as a labelled transcript.
"""

from __future__ import annotations

from orchestratex.api.openai_errors import bad_request
from orchestratex.api.openai_schema import MessageIn
from orchestratex.core.orchestration import MAX_PROMPT_CHARS


def message_text(message: MessageIn, index: int) -> str:
    """A message's text (its text parts joined by newlines); other parts are a 400."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts: list[str] = []
    for part in message.content:
        if part.type != "text" or part.text is None:
            raise bad_request(
                f"messages[{index}]: only text content is supported", param="messages"
            )
        parts.append(part.text)
    return "\n".join(parts)


EMPTY_MESSAGE = "[an empty message]"
"""The stored prompt's text for a named model's conversation that ends with an empty message."""


def to_prompt(messages: list[MessageIn], *, any_ending: bool = False) -> tuple[str, str | None]:
    """(prompt, system) for a conversation, as described in the module docstring.

    An orchestration answers a user message: the last message must be a user message with
    text. With `any_ending` (a named model, which takes whatever its API takes) it may end
    with a tool result, an assistant turn (a prefill to continue), a system message or an empty
    message (the stored prompt then says `EMPTY_MESSAGE`).
    """
    if not messages:
        raise bad_request("messages must not be empty", param="messages")
    if not any_ending and messages[-1].role != "user":
        raise bad_request("the last message must have the role 'user'", param="messages")
    system: list[str] = []
    transcript: list[str] = []
    for index, message in enumerate(messages[:-1]):
        text = message_text(message, index)
        if message.role in ("system", "developer"):
            if text:
                system.append(text)
        elif text:
            transcript.append(f"[{message.role}]\n{text}")
        for call in message.tool_calls or []:
            transcript.append(
                f"[assistant tool call {call.id}]\n{call.function.name}({call.function.arguments})"
            )
    current = message_text(messages[-1], len(messages) - 1)
    if not current.strip():
        if not any_ending:
            raise bad_request(f"the last {messages[-1].role} message is empty", param="messages")
        current = EMPTY_MESSAGE
    prompt = current
    if transcript:
        heading = (
            "Answer begun, to continue" if messages[-1].role == "assistant" else "Current message"
        )
        earlier = "\n\n".join(transcript)
        prompt = f"Earlier conversation:\n\n{earlier}\n\n{heading}:\n\n{current}"
    system_text = "\n\n".join(system) or None
    if len(prompt) > MAX_PROMPT_CHARS or len(system_text or "") > MAX_PROMPT_CHARS:
        raise bad_request(
            f"the conversation is longer than {MAX_PROMPT_CHARS} characters", param="messages"
        )
    return prompt, system_text
