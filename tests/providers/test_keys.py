"""API keys: read from the named variable, never shown in errors, health or logs."""

from __future__ import annotations

import logging

import pytest

from orchestratex.core.catalog import ProviderSpec
from orchestratex.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ProviderError,
)
from orchestratex.providers.errors import CallContext, from_status, redact
from orchestratex.providers.keys import NO_KEY_NEEDED, resolve_api_key
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer, FaultKind
from tests.providers.conftest import NO_BREAKER, GatewayFactory, ask

SECRET = "sk-orx-SECRET-0123456789abcdef"
VAR = "ORX_TEST_FAKE_KEY"


def keyed_overrides(retries: int = 0) -> dict[str, dict[str, object]]:
    return {
        "fake-openai": {"api_key_env": VAR, "max_retries": retries},
        "fake-anthropic": {"api_key_env": VAR, "max_retries": retries},
    }


async def test_missing_key_names_the_variable(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=keyed_overrides())
    gateway = make_gateway(catalog, env={"OTHER": SECRET})
    with pytest.raises(ConfigurationError) as info:
        await gateway.complete("fake-gpt", ask())
    assert VAR in str(info.value)
    assert SECRET not in str(info.value)
    assert gateway.health()["fake-gpt"].configured is False
    assert gateway.health()["fake-gpt"].score == 0.0
    assert fake.stats.requests_total == 0


def test_keys_come_from_the_variable_or_are_not_needed() -> None:
    spec = ProviderSpec(name="p", api_key_env=VAR)
    assert resolve_api_key(spec, {VAR: f"  {SECRET} "}) == SECRET
    with pytest.raises(ConfigurationError, match=VAR):
        resolve_api_key(spec, {VAR: "   "})
    assert resolve_api_key(ProviderSpec(name="ollama"), {}) == NO_KEY_NEEDED


async def test_key_never_appears_in_errors_health_or_logs(
    make_gateway: GatewayFactory, fake: FakeProviderServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    catalog = fake_catalog(fake.openai_base_url, provider_overrides=keyed_overrides(retries=1))
    gateway = make_gateway(catalog, env={VAR: SECRET}, breaker=NO_BREAKER)
    texts: list[str] = []
    faults: list[FaultKind] = ["rate_limit", "server_error", "timeout", "malformed", "cut"]
    fake.options.fail_rate = 1.0
    fake.options.retry_after_s = 0.01
    fake.options.hang_s = 0.2
    for fault in faults:
        fake.options.faults = [fault]
        for model in ("fake-gpt", "fake-claude"):
            for streaming in (False, True):
                try:
                    if streaming:
                        async for _ in gateway.stream(model, ask(timeout_s=1.0)):
                            pass
                    else:
                        await gateway.complete(model, ask(timeout_s=1.0))
                except ProviderError as err:
                    texts += [str(err), repr(err), err.message, repr(err.__cause__)]
                    texts += [repr(err.__context__)]
    fake.options.fail_rate = 0.0
    assert (await gateway.complete("fake-gpt", ask())).text  # the key works
    assert len(texts) >= 20
    texts += [h.model_dump_json() for h in gateway.health().values()]
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    assert any("retrying" in r.getMessage() for r in caplog.records)
    for text in texts:
        assert SECRET not in text
        assert "0123456789abcdef" not in text


def test_error_bodies_echoing_a_key_are_redacted() -> None:
    ctx = CallContext("openai", "gpt-x", (SECRET,))
    body = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}
    auth = from_status(401, {}, body, ctx)
    assert isinstance(auth, AuthenticationError) and SECRET not in auth.message
    bad = from_status(400, {}, {"error": {"message": f"bad header Bearer {SECRET}"}}, ctx)
    assert isinstance(bad, BadRequestError)
    assert SECRET not in bad.message and "[redacted]" in bad.message
    other = CallContext("openai", "gpt-x")
    leaked = from_status(422, {}, {"error": {"message": "key sk-proj-abcdefghijklmnop"}}, other)
    assert "abcdefghijklmnop" not in leaked.message


def test_redact_leaves_ordinary_text_alone() -> None:
    assert redact("rate limited, retry in 2s", ("k",)) == "rate limited, retry in 2s"
    assert redact(f"x {SECRET} y", (SECRET,)) == "x [redacted] y"
