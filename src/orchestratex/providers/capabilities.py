"""Which request options each wire protocol can carry, so callers can refuse the rest up front.

No SDK is imported here: the API layer checks a request before a run starts, and each adapter
refuses the same options again (a `BadRequestError`) if one reaches it anyway.
"""

from __future__ import annotations

from orchestratex.core.types import CompletionRequest

SAMPLING = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")

_UNSUPPORTED: dict[str, dict[str, str]] = {
    "anthropic": {name: f"the Anthropic Messages API has no {name}" for name in SAMPLING},
    "replay": {
        "tools": "replayed recordings contain no tool calls",
        "response_format": "replayed recordings are free text, not JSON",
    },
}


def refuses_any(protocol: str) -> bool:
    """Whether `protocol` cannot carry some option (else nothing need be checked)."""
    return bool(_UNSUPPORTED.get(protocol))


def refused_options(protocol: str, request: CompletionRequest) -> dict[str, str]:
    """Option name -> why `protocol` cannot carry it, for each such option `request` sets."""
    reasons = _UNSUPPORTED.get(protocol, {})
    refused: dict[str, str] = {}
    for name, why in reasons.items():
        if name == "tools":
            used = bool(request.tools) or any(
                m.role == "tool" or m.tool_calls for m in request.messages
            )
        elif name == "response_format":
            used = request.response_format is not None and request.response_format.type != "text"
        else:
            used = getattr(request, name) is not None
        if used:
            refused[name] = why
    return refused


def fitted(protocol: str, request: CompletionRequest) -> CompletionRequest:
    """`request` as `protocol` can carry it, for a judge call: the engine sets a judge's
    sampling options itself (temperature 0, for steadier verdicts) as a preference, so the
    ones the protocol lacks are left out instead of refusing the call. Every other request is
    returned as it is: options a caller chose are refused, never dropped."""
    if request.purpose != "judge":
        return request
    lacking = [n for n in SAMPLING if n in _UNSUPPORTED.get(protocol, {})]
    drop = {n: None for n in lacking if getattr(request, n) is not None}
    return request.model_copy(update=drop) if drop else request
