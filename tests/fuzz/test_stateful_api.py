"""Schemathesis, stateful: sequences of calls linked through the ids the service hands out
(a submitted run's thread id feeds its status, events, detail and cancel routes; a chat
completion's thread id feeds the thread routes). The links are added to the service's own
OpenAPI document here. Every reply: no 5xx, errors in the documented shape, within the bound."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case
from schemathesis.core.transport import Response

from tests.fuzz.conftest import REPLY_BOUND_S, Fuzzed, check_error_shape
from tests.hostile.server import bearer

THREAD_ROUTES = {
    "Status": ("get", "/api/orchestrate/status/{thread_id}"),
    "Events": ("get", "/api/orchestrate/{thread_id}/events"),
    "Cancel": ("post", "/api/orchestrate/{thread_id}/cancel"),
    "Detail": ("get", "/api/threads/{thread_id}"),
}


def _operation_id(raw: dict[str, Any], method: str, path: str) -> str:
    operation_id: str = raw["paths"][path][method]["operationId"]
    return operation_id


def with_links(raw: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with links from the routes that make threads to those that read them."""
    sources = {
        ("post", "/api/orchestrate/prompt", "202"): "$response.body#/thread_id",
        ("post", "/v1/chat/completions", "200"): "$response.body#/orchestratex/thread_id",
    }
    for (method, path, status), pointer in sources.items():
        responses = raw["paths"][path][method]["responses"]
        response = responses.setdefault(status, {"description": "ok"})
        response["links"] = {
            name: {
                "operationId": _operation_id(raw, target_method, target_path),
                "parameters": {"path.thread_id": pointer},
            }
            for name, (target_method, target_path) in THREAD_ROUTES.items()
        }
    return raw


def test_linked_sequences_stay_within_contract(fuzzed: Fuzzed) -> None:
    raw = httpx.get(f"{fuzzed.served.base_url}/openapi.json", trust_env=False).json()
    schema = schemathesis.openapi.from_dict(with_links(raw))
    base_url = fuzzed.served.base_url
    key = fuzzed.key
    slowest: list[float] = [0.0]
    steps: list[str] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"base_url": base_url, "headers": bearer(key), "timeout": REPLY_BOUND_S + 10}

        def call(self, case: Case[Any], **kwargs: Any) -> Response:
            started = time.monotonic()
            response: Response = case.call(**kwargs)
            slowest[0] = max(slowest[0], time.monotonic() - started)
            steps.append(f"{case.method} {case.path} -> {response.status_code}")
            return response

        def validate_response(self, response: Response, case: Case[Any], **kwargs: Any) -> None:
            assert response.elapsed < REPLY_BOUND_S, f"{case.method} {case.path} too slow"
            check_error_shape(case.path, _Reply(response))

    Workflow.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    assert slowest[0] < REPLY_BOUND_S
    linked = [s for s in steps if "{thread_id}" in s and "-> 404" not in s]
    assert any(s.startswith("POST /api/orchestrate/prompt -> 202") for s in steps), steps[:40]
    assert linked, "no linked step reached a real thread"
    print(len(steps), "steps;", len(linked), "linked:", sorted(set(linked))[:12])


class _Reply:
    """A schemathesis response seen through the two attributes check_error_shape reads."""

    def __init__(self, response: Response) -> None:
        self.status_code = response.status_code
        self.text = response.text

    def json(self) -> Any:
        return json.loads(self.text)
