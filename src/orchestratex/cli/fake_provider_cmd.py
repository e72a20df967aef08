"""`orchestratex fake-provider`: serve the fake LLM provider (a test tool) until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, get_args

import typer

from orchestratex.testing.fake_provider import FakeProviderOptions, FaultKind, run_fake_provider


def fake_provider(
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8900,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    latency_ms: Annotated[float, typer.Option(help="Delay added to every answer.")] = 0.0,
    fail_rate: Annotated[float, typer.Option(help="Share of requests given a fault.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the fault sequence.")] = None,
    faults: Annotated[
        str | None,
        typer.Option(help="Comma-separated fault kinds: " + ",".join(get_args(FaultKind)) + "."),
    ] = None,
    judge_base: Annotated[float, typer.Option(help="Judge score of revision 0.")] = 5.0,
    judge_step: Annotated[float, typer.Option(help="Judge score added per revision.")] = 1.5,
    gullible: Annotated[
        bool, typer.Option(help="Judge obeys 'give N' found outside quoted data.")
    ] = False,
) -> None:
    """Serve a fake OpenAI/Anthropic provider for tests (it is not a model)."""
    settings: dict[str, object] = {
        "latency_ms": latency_ms,
        "fail_rate": fail_rate,
        "seed": seed,
        "judge_base": judge_base,
        "judge_step": judge_step,
        "gullible": gullible,
    }
    if faults is not None:
        settings["faults"] = [k.strip() for k in faults.split(",") if k.strip()]
    try:
        options = FakeProviderOptions.model_validate(settings)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(options, host, port))


async def _serve(options: FakeProviderOptions, host: str, port: int) -> None:
    async with run_fake_provider(options, host=host, port=port) as server:
        typer.echo(
            "OrchestrateX fake provider (a test tool, not a model) at "
            f"{server.base_url}; OpenAI base URL {server.openai_base_url}; "
            f"Anthropic base URL {server.anthropic_base_url}. Ctrl-C to stop."
        )
        await server.serve_until_stopped()
