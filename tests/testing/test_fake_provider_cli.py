"""`orchestratex fake-provider` in a subprocess answers over loopback."""

from __future__ import annotations

import asyncio
import re
import sys

import openai

LAUNCH = "from orchestratex.cli.main import app; app()"


async def test_cli_serves_until_terminated() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH,
        "fake-provider",
        "--port",
        "0",
        "--judge-base",
        "4",
        "--faults",
        "rate_limit,cut",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        assert "test tool" in line
        match = re.search(r"OpenAI base URL (http://127\.0\.0\.1:\d+/v1)", line)
        assert match is not None, line
        async with openai.AsyncOpenAI(
            base_url=match.group(1), api_key="test", max_retries=0, timeout=10
        ) as client:
            result = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "RUBRIC please"}]
            )
        assert '"overall": 4.0' in (result.choices[0].message.content or "")
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)
    assert proc.returncode is not None


async def test_cli_rejects_unknown_fault() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAUNCH,
        "fake-provider",
        "--faults",
        "explode",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(proc.wait(), timeout=30) == 2
