"""Token log-probabilities over real HTTP: asked for, returned by the fake provider, read by the
official OpenAI SDK, carried on the Completion as the answer's own confidence."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from orchestratex.core.types import Completion, StreamPart, TokenConfidence
from orchestratex.testing.fake_catalog import fake_catalog
from orchestratex.testing.fake_provider import FakeProviderServer
from tests.providers.conftest import GatewayFactory, ask


async def _streamed(parts: AsyncIterator[StreamPart]) -> Completion:
    final = [part async for part in parts if isinstance(part, Completion)]
    assert len(final) == 1
    return final[0]


@pytest.mark.parametrize("stream", [False, True])
async def test_confidence_from_the_returned_logprobs(
    make_gateway: GatewayFactory, fake: FakeProviderServer, stream: bool
) -> None:
    gateway = make_gateway(fake_catalog(fake.openai_base_url, unsure=["fake-llama"]))
    request = ask("What is a monad?", logprobs=True)
    for model, per_token in (("fake-gpt", -0.05), ("fake-llama", -1.5)):
        done = (
            await _streamed(gateway.stream(model, request))
            if stream
            else await gateway.complete(model, request)
        )
        assert fake.last_body()["logprobs"] is True
        conf = done.confidence
        assert conf is not None
        # the fake provider's tokens are its words: one log-prob per word of the answer
        assert conf.tokens == len(done.text.split())
        assert conf.mean_logprob == pytest.approx(per_token)
        assert conf.min_logprob == pytest.approx(per_token)
        assert conf.probability == pytest.approx(math.exp(per_token))


@pytest.mark.parametrize("model", ["fake-gpt", "fake-claude"])
async def test_no_logprobs_unless_asked_and_none_from_the_anthropic_api(
    make_gateway: GatewayFactory, fake: FakeProviderServer, model: str
) -> None:
    gateway = make_gateway()
    plain = await gateway.complete(model, ask("hello"))
    assert "logprobs" not in fake.last_body() and plain.confidence is None
    asked = await gateway.complete(model, ask("hello", logprobs=True))
    if model == "fake-claude":  # the Messages API has no log-probabilities: nothing is sent
        assert "logprobs" not in fake.last_body() and asked.confidence is None
    else:
        assert asked.confidence is not None


async def test_practically_impossible_tokens_count_at_a_floor(
    make_gateway: GatewayFactory, fake: FakeProviderServer
) -> None:
    fake.options.token_logprob = -9999.0  # OpenAI's value for "practically never"
    done = await make_gateway().complete("fake-gpt", ask("hello", logprobs=True))
    assert done.confidence is not None and done.confidence.mean_logprob == -100.0


def test_confidence_is_bounded() -> None:
    with pytest.raises(ValueError):
        TokenConfidence(tokens=0, mean_logprob=-0.1, min_logprob=-0.2)
    with pytest.raises(ValueError):
        TokenConfidence(tokens=3, mean_logprob=0.5, min_logprob=0.0)
    assert TokenConfidence(tokens=3, mean_logprob=0.0, min_logprob=0.0).probability == 1.0
