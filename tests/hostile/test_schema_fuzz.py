"""Schemathesis over the service's own OpenAPI schema: no generated request may get a 5xx.

Every operation is fuzzed with valid (positive) and invalid (negative) data, through auth with an
admin key, against a real uvicorn on loopback whose providers are the fake provider server.
Examples are few per operation and derandomized, so the run is reproducible and short.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from orchestratex.testing.fake_provider import FakeProviderOptions
from tests.hostile.server import bearer, serve

EXAMPLES_PER_MODE = 12
TIME_BUDGET_S = 90.0


def _fuzzer(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    base_url: str,
    session: requests.Session,
    key: str,
    statuses: Counter[tuple[str, int]],
    failures: list[str],
) -> Callable[[], None]:
    """A hypothesis test sending the operation's generated cases; 5xx answers are collected."""
    label = operation.label

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case[Any]) -> None:
        response = case.call(base_url=base_url, session=session, headers=bearer(key), timeout=30)
        statuses[label, response.status_code // 100] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError:
            curl = case.as_curl_command(headers=bearer("<key>"))
            failures.append(f"{label} -> {response.status_code}: {curl}")

    result: Callable[[], None] = fuzz
    return result


@pytest.fixture
def hypothesis_home(tmp_path: Path) -> Iterator[None]:
    """Hypothesis' cache files go to the test's temporary folder, not the working tree."""
    set_hypothesis_home_dir(tmp_path / ".hypothesis")
    try:
        yield
    finally:
        set_hypothesis_home_dir(None)


@pytest.mark.usefixtures("hypothesis_home")
def test_no_operation_answers_5xx(tmp_path: Path) -> None:
    started = time.monotonic()
    with serve(tmp_path, fake_options=FakeProviderOptions(seed=3)) as served:
        admin = served.new_key_sync("fuzz-admin", admin=True)
        schema = schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")
        session = requests.Session()
        session.trust_env = False
        failures: list[str] = []
        tested: list[str] = []
        statuses: Counter[tuple[str, int]] = Counter()

        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            tested.append(operation.label)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz = _fuzzer(operation, mode, served.base_url, session, admin, statuses, failures)
                try:
                    fuzz()
                except hypothesis.errors.Unsatisfiable:
                    # Nothing to make invalid (an operation without parameters or body).
                    assert mode is GenerationMode.NEGATIVE, operation.label

        calls = sum(statuses.values())
        elapsed = time.monotonic() - started
        assert failures == [], "\n".join(failures[:20])
        assert len(tested) >= 20, tested
        assert "POST /api/orchestrate/prompt" in tested
        assert "POST /v1/chat/completions" in tested
        assert calls >= len(tested) * 2
        # The key went through: valid requests were answered, not refused at the door.
        for label in ("GET /api/threads", "POST /api/orchestrate/prompt", "GET /metrics"):
            assert statuses[label, 2] > 0, (label, statuses)
        print(sorted(statuses.items()))
        assert elapsed < TIME_BUDGET_S * 1.5, f"fuzzing took {elapsed:.0f} s"
        healthy = session.get(f"{served.base_url}/healthz", timeout=10)
        assert healthy.status_code == 200
        session.close()
