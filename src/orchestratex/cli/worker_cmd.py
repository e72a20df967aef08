"""`orchestratex worker`: execute queued runs (needs ORX_REDIS_URL and a shared database)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

import typer

from orchestratex.core.errors import ConfigurationError
from orchestratex.runtime.settings import load_settings


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=256, help="Runs at once (default: settings, 4)."),
    ] = None,
) -> None:
    """Run queued orchestrations from Redis until stopped (Ctrl-C or SIGTERM)."""
    from orchestratex.runtime.worker import run_worker

    try:
        settings = load_settings()
        if not settings.redis_url:
            raise ConfigurationError("set ORX_REDIS_URL: the worker takes its runs from Redis")
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings, concurrency=concurrency))
