"""In replay mode (the offline demo) /v1 answers say they are replayed recordings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from orchestratex.api.app import create_app
from orchestratex.providers.replay_data import STRONG_MODEL, load_index
from orchestratex.runtime.settings import Settings
from tests.clients.conftest import Running, running_service

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routellm"


@pytest.fixture(scope="module")
def recorded_prompt() -> str:
    if not (SHARED_DATA / "gsm8k" / "gsm8k_responses.csv").is_file():
        pytest.skip(f"the RouteLLM recordings are not in {SHARED_DATA}")
    return load_index(SHARED_DATA).by_id["gsm8k-0001"].text


@pytest.fixture
async def replaying(tmp_path: Path, recorded_prompt: str) -> AsyncIterator[Running]:
    settings = Settings(data_dir=tmp_path, routellm_data_dir=SHARED_DATA, mode="replay")
    async for running in running_service(create_app(settings, env={})):
        yield running


@pytest.mark.parametrize("model", [STRONG_MODEL, "orchestratex/auto"])
async def test_openai_replies_carry_the_replay_fingerprint_and_header(
    replaying: Running, recorded_prompt: str, model: str
) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{replaying.base_url}/v1", api_key=replaying.key, max_retries=0
    ) as sdk:
        raw = await sdk.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": recorded_prompt}]
        )
        completion = raw.parse()
        assert raw.headers["x-orchestratex-replay"] == "true"
        assert completion.system_fingerprint == "orchestratex-replay"
        extra: dict[str, Any] = completion.model_extra or {}
        assert extra["orchestratex"]["replay"] is True
        # A named model is a passthrough in replay mode too: no (recorded) judge.
        assert extra["orchestratex"]["judged"] is (model == "orchestratex/auto")
        stream = await sdk.chat.completions.create(
            model=model, messages=[{"role": "user", "content": recorded_prompt}], stream=True
        )
        fingerprints = {chunk.system_fingerprint async for chunk in stream}
    assert fingerprints == {"orchestratex-replay"}


async def test_replay_refuses_tools_and_json_formats_up_front(
    replaying: Running, recorded_prompt: str
) -> None:
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    async with openai.AsyncOpenAI(
        base_url=f"{replaying.base_url}/v1", api_key=replaying.key, max_retries=0
    ) as sdk:
        with pytest.raises(openai.BadRequestError, match="recordings contain no tool calls"):
            await sdk.chat.completions.create(
                model=STRONG_MODEL,
                messages=[{"role": "user", "content": recorded_prompt}],
                tools=[tool],
            )
        with pytest.raises(openai.BadRequestError, match="recordings are free text"):
            await sdk.chat.completions.create(
                model="orchestratex/auto",
                messages=[{"role": "user", "content": recorded_prompt}],
                response_format={"type": "json_object"},
            )


async def test_anthropic_replies_are_marked_too(replaying: Running, recorded_prompt: str) -> None:
    async with anthropic.AsyncAnthropic(
        base_url=replaying.base_url, api_key=replaying.key, max_retries=0
    ) as sdk:
        raw = await sdk.messages.with_raw_response.create(
            model=STRONG_MODEL,
            max_tokens=1000,
            messages=[{"role": "user", "content": recorded_prompt}],
        )
        message = await raw.parse()
    assert raw.headers["x-orchestratex-replay"] == "true"
    extra: dict[str, Any] = message.model_extra or {}
    assert extra["orchestratex"]["replay"] is True
