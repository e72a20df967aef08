"""Open mode through the official OpenAI SDK: right after start-up (no API key exists) any key
works, as the README's example needs; once a key exists, only that key does."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from tests.hostile.server import serve


def test_the_openai_sdk_works_before_any_key_exists(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        health = httpx.get(f"{served.base_url}/healthz", trust_env=False).json()
        assert health["auth"] == "open"
        client = openai.OpenAI(
            api_key="sk-anything", base_url=f"{served.base_url}/v1", max_retries=0
        )
        reply = client.chat.completions.create(
            model="orchestratex/auto", messages=[{"role": "user", "content": "Name a prime"}]
        )
        assert reply.choices[0].message.content

        key = served.new_key_sync("owner", admin=True)
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        keyed = openai.OpenAI(api_key=key, base_url=f"{served.base_url}/v1", max_retries=0)
        assert "orchestratex/auto" in [m.id for m in keyed.models.list().data]
