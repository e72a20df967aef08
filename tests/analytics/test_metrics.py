"""`GET /metrics`: Prometheus text whose counters move with runs, per app."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from orchestratex.api.app import create_app
from orchestratex.runtime.settings import Settings
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.analytics.conftest import Api, bearer, run_prompt


async def _samples(
    api: Api, headers: dict[str, str]
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _total(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_counters_move_after_a_run(api: Api) -> None:
    admin = await api.key("root", admin=True)
    user = await api.key("dave")
    headers = bearer(admin)
    before = await _samples(api, headers)
    assert _total(before, "orchestratex_runs_total") == 0
    assert _total(before, "orchestratex_active_runs") == 0

    await run_prompt(api, user, "Summarise the causes of inflation", 2)
    after = await _samples(api, headers)
    assert _total(after, "orchestratex_runs_started_total") == 1
    assert _total(after, "orchestratex_runs_total", status="completed") == 1
    assert _total(after, "orchestratex_active_runs") == 0
    generations = _total(
        after, "orchestratex_model_calls_total", purpose="generate", outcome="success"
    )
    judgings = _total(after, "orchestratex_model_calls_total", purpose="judge", outcome="success")
    assert generations == 1 and judgings >= 2
    assert _total(after, "orchestratex_model_calls_total", purpose="revise") == 1
    assert _total(after, "orchestratex_tokens_total", direction="input") > 0
    assert _total(after, "orchestratex_tokens_total", direction="output") > 0
    assert _total(after, "orchestratex_cost_usd_total") > 0
    calls = _total(after, "orchestratex_model_calls_total")
    assert _total(after, "orchestratex_model_call_latency_seconds_count") == calls

    denied = await api.client.get("/metrics", headers=bearer(user))
    assert denied.status_code == 403


async def test_each_app_counts_only_its_own_runs(
    api: Api, tmp_path: Path, fake: FakeProviderServer
) -> None:
    """Two apps in one process: separate registries, no collision, no shared counts."""
    other_app = create_app(
        Settings(data_dir=tmp_path / "other"), catalog=fake_catalog(fake.openai_base_url)
    )
    async with other_app.router.lifespan_context(other_app):
        transport = httpx.ASGITransport(app=other_app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://other.localhost"
        ) as client:
            other = Api(other_app, client)
            user = await api.key("erin", admin=True)
            await run_prompt(api, user, "List two sorting algorithms", 1)
            mine = await _samples(api, bearer(user))
            theirs = await _samples(other, {})
    assert api.app.state.metrics.registry is not other_app.state.metrics.registry
    assert _total(mine, "orchestratex_runs_started_total") == 1
    assert _total(theirs, "orchestratex_runs_started_total") == 0
    assert _total(theirs, "orchestratex_model_calls_total") == 0
