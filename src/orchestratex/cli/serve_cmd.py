"""`orchestratex serve`: run the HTTP service with uvicorn.

While no API key exists the service is open to anyone who can reach it, so it then refuses to
listen anywhere but loopback.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import socket
from typing import Annotated, Any

import typer
import uvicorn
import yaml
from pydantic import ValidationError
from uvicorn.config import LOGGING_CONFIG

from orchestratex.api.server_protocol import http_protocol
from orchestratex.cli.errors import fail
from orchestratex.core.errors import ConfigurationError
from orchestratex.runtime.admin import auth_configured
from orchestratex.runtime.settings import load_settings


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, *, auth: bool) -> str | None:
    """Why the service must not listen on `host`, or None when it may."""
    if auth or is_loopback(host):
        return None
    return (
        f"refusing to listen on {host}: no API key exists, so the service would be open to "
        "anyone. Create one with `orchestratex keys create --name NAME --admin`, "
        "or listen on 127.0.0.1."
    )


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup plus the service's own `orchestratex.*` loggers at `level`.

    Without this only uvicorn's loggers have a handler, and the service's INFO lines (replay
    mode, "learned router loaded/ready", recovery) would be dropped.
    """
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["orchestratex"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: settings, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: settings, 8000).")
    ] = None,
) -> None:
    """Run the OrchestrateX HTTP service."""
    from orchestratex.api.app import create_app

    try:
        settings = load_settings()
    except (ConfigurationError, ValidationError, yaml.YAMLError) as exc:
        fail(exc, debug=False)  # one line naming the setting, not a traceback
    host = host or settings.host
    port = port or settings.port
    if settings.instance_id is None and not settings.redis_url:
        # One name across restarts: the runs a killed service left are its own, resumed at once.
        stable = f"{socket.gethostname()[:40]}-serve-{port}"
        settings = settings.model_copy(update={"instance_id": stable})
    auth = asyncio.run(auth_configured(settings))
    refusal = bind_refusal(host, auth=auth)
    if refusal is not None:
        typer.echo(refusal, err=True)
        raise typer.Exit(code=2)
    if not auth:
        typer.echo(
            "auth disabled: no API key exists, so the service is open and listens on loopback "
            "only. Create a key with `orchestratex keys create --name NAME --admin`."
        )
    try:
        app = create_app(settings, freeze_gc=True)
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    # Open SSE streams would otherwise hold shutdown until their runs end.
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=http_protocol(settings),  # header size and client send-time limits
        log_level=settings.log_level.lower(),
        log_config=log_config(settings.log_level),
        timeout_graceful_shutdown=5,
    )
