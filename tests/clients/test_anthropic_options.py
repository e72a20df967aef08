"""Messages options the service cannot honour, through the official `anthropic` SDK: a value
that asks for nothing (absent, null, the API's default, an explicit "off") is accepted on
/v1/messages and /v1/messages/count_tokens; a real use is a 400 naming the option, before any
upstream call."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from orchestratex.testing.fake_provider import FakeProviderServer
from tests.clients.conftest import Running

HI: Any = [{"role": "user", "content": "hi"}]

ASKS_FOR_NOTHING: list[tuple[str, Any]] = [
    ("top_k", None),
    ("thinking", None),
    ("thinking", {"type": "disabled"}),
    ("service_tier", "auto"),
    ("service_tier", "standard_only"),
    ("service_tier", None),
    ("container", None),
    ("mcp_servers", []),
    ("mcp_servers", None),
    ("context_management", None),
    ("inference_geo", None),
    ("speed", "standard"),
    ("speed", None),
    ("output_config", {"effort": "high"}),
    ("output_config", {"effort": None}),
]

REAL_USES: list[tuple[str, Any, str]] = [
    ("top_k", 5, "top_k"),
    ("top_k", 0, "top_k"),
    ("thinking", {"type": "enabled", "budget_tokens": 2048}, "thinking"),
    ("thinking", {"type": "adaptive"}, "thinking"),
    ("thinking", {"type": "disabled", "budget_tokens": 2048}, "thinking"),
    ("service_tier", "priority", "service_tier"),
    ("container", "container_011CZ", "container"),
    ("container", {"skills": [{"type": "anthropic", "skill_id": "pptx"}]}, "container"),
    ("mcp_servers", [{"type": "url", "url": "https://mcp.example", "name": "x"}], "mcp_servers"),
    ("context_management", {"edits": [{"type": "clear_tool_uses_20250919"}]}, "context_management"),
    ("inference_geo", "us", "inference_geo"),
    ("speed", "fast", "speed"),
    ("output_config", {"effort": "low"}, "output_config.effort"),
]


def client(service: Running) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=service.base_url, api_key=service.key, max_retries=0)


@pytest.mark.parametrize(("option", "value"), ASKS_FOR_NOTHING)
async def test_a_value_that_asks_for_nothing_is_accepted(
    service: Running, fake: FakeProviderServer, option: str, value: Any
) -> None:
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model="fake-claude", max_tokens=300, messages=HI, extra_body={option: value}
        )
        counted = await sdk.messages.count_tokens(
            model="fake-claude", messages=HI, extra_body={option: value}
        )
    assert message.stop_reason == "end_turn" and message.content[0].type == "text"
    assert counted.input_tokens > 0
    assert fake.stats.requests_total == 1  # the answer; counting calls no model
    assert option not in fake.last_body() or option == "output_config"
    assert "effort" not in fake.last_body().get("output_config", {})


@pytest.mark.parametrize(("option", "value", "named"), REAL_USES)
async def test_a_real_use_is_refused_naming_the_option(
    service: Running, fake: FakeProviderServer, option: str, value: Any, named: str
) -> None:
    async with client(service) as sdk:
        with pytest.raises(anthropic.BadRequestError) as created:
            await sdk.messages.create(
                model="fake-claude", max_tokens=300, messages=HI, extra_body={option: value}
            )
        with pytest.raises(anthropic.BadRequestError) as counted:
            await sdk.messages.count_tokens(
                model="fake-claude", messages=HI, extra_body={option: value}
            )
    for refused in (created.value, counted.value):
        body: Any = refused.body
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        assert named in body["error"]["message"]
    assert created.value.body == counted.value.body
    assert fake.stats.requests_total == 0


async def test_the_sdk_s_own_parameters_at_their_defaults(
    service: Running, fake: FakeProviderServer
) -> None:
    """As an SDK user writes them (typed parameters, no extra_body), streamed too."""
    async with client(service) as sdk:
        message = await sdk.messages.create(
            model="fake-gpt",
            max_tokens=300,
            messages=HI,
            thinking={"type": "disabled"},
            service_tier="standard_only",
            output_config={"effort": "high"},
        )
        async with sdk.messages.stream(
            model="fake-claude",
            max_tokens=300,
            messages=HI,
            thinking={"type": "disabled"},
            service_tier="auto",
            speed="standard",
        ) as stream:
            final = await stream.get_final_message()
        counted = await sdk.messages.count_tokens(
            model="orchestratex/auto", messages=HI, thinking={"type": "disabled"}
        )
        with pytest.raises(anthropic.BadRequestError, match="thinking"):
            await sdk.messages.create(
                model="fake-gpt",
                max_tokens=4096,
                messages=HI,
                thinking={"type": "enabled", "budget_tokens": 1024},
            )
    assert message.content[0].type == "text" and final.stop_reason == "end_turn"
    assert counted.input_tokens > 0
    assert fake.stats.requests_total == 2
