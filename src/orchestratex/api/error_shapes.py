"""The error body each kind of client expects, chosen by the request's path."""

from __future__ import annotations

from orchestratex.api import anthropic_errors, openai_errors


def shaped_error(path: str, status: int, code: str, message: str) -> dict[str, object]:
    """The error body a client of `path` expects: Anthropic's shape on /v1/messages, OpenAI's on
    the rest of /v1, the service's own `{"error": {"code", "message"}}` elsewhere."""
    if path.startswith("/v1/messages"):
        return anthropic_errors.error_body(status, message)
    if path.startswith("/v1/"):
        kind = openai_errors.error_type(status)
        return openai_errors.OpenAIError(status, message, type_=kind, code=code).body()
    return {"error": {"code": code, "message": message}}
