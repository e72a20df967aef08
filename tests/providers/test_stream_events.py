"""What the adapters read from a reply themselves, over real HTTP: error events mid-stream,
token usage and stop reasons, the same whether the reply is whole or streamed."""

from __future__ import annotations

import pytest

from orchestratex.core.errors import ProviderUnavailableError
from orchestratex.core.types import Completion, TextDelta
from orchestratex.providers.gateway import Gateway
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ask

MODELS = ["fake-gpt", "fake-claude"]


async def _streamed(gateway: Gateway, model: str, **kw: object) -> Completion:
    parts = [part async for part in gateway.stream(model, ask("usage check", **kw))]
    final = parts[-1]
    assert isinstance(final, Completion)
    return final


@pytest.mark.parametrize("model", MODELS)
async def test_an_error_event_after_text_is_a_provider_error_with_its_message(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    fake.options.faults = ["overloaded"]
    fake.options.fail_rate = 1.0
    gateway = make_gateway()
    seen: list[str] = []
    with pytest.raises(ProviderUnavailableError) as info:
        async for part in gateway.stream(model, ask()):
            assert isinstance(part, TextDelta)
            seen.append(part.text)
    assert seen, "the error event comes after some text"
    assert "injected overload" in str(info.value)
    assert info.value.retryable
    assert sum(fake.stats.by_model.values()) == 1  # text went out: no retry


@pytest.mark.parametrize("model", MODELS)
async def test_streamed_usage_is_the_whole_reply_s_usage(
    make_gateway: GatewayFactory, model: str
) -> None:
    # Anthropic: input tokens from message_start, output tokens from message_delta (the fake's
    # message_start says 1 output token, as the API does, which the final count replaces).
    gateway = make_gateway()
    whole = await gateway.complete(model, ask("usage check"))
    streamed = await _streamed(gateway, model)
    assert streamed.text == whole.text
    assert streamed.usage == whole.usage
    assert streamed.usage.output_tokens > 1 and streamed.usage.input_tokens > 0


@pytest.mark.parametrize("model", MODELS)
async def test_stop_reasons_in_chat_completion_terms(
    make_gateway: GatewayFactory, model: str
) -> None:
    gateway = make_gateway()
    done = await gateway.complete(model, ask("usage check"))
    assert done.finish_reason == "stop"
    assert (await _streamed(gateway, model)).finish_reason == "stop"
    cut = await gateway.complete(model, ask("usage check", max_tokens=3))
    assert cut.finish_reason == "length" and len(cut.text) <= 12
    streamed_cut = await _streamed(gateway, model, max_tokens=3)
    assert streamed_cut.finish_reason == "length" and streamed_cut.text == cut.text
