"""`orchestratex keys`: create, list and revoke API keys. A key is printed once, at creation."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from orchestratex.core.errors import ConfigurationError
from orchestratex.runtime import admin
from orchestratex.runtime.admin import USER_NAME_CHARS, KeyInfo
from orchestratex.runtime.settings import Settings, load_settings

keys = typer.Typer(help="Manage API keys (one per user).", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None


@keys.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who the key is for.")],
    is_admin: Annotated[bool, typer.Option("--admin", help="May see every thread.")] = False,
    budget: Annotated[
        float | None, typer.Option(min=0.0, help="Spending cap in USD for this key's runs.")
    ] = None,
) -> None:
    """Create a key and print it. It is shown only this once; only its hash is stored."""
    if not name.strip():
        typer.echo("the name must not be empty", err=True)
        raise typer.Exit(code=2)
    if len(name.strip()) > USER_NAME_CHARS:
        typer.echo(f"the name must be at most {USER_NAME_CHARS} characters", err=True)
        raise typer.Exit(code=2)
    made = asyncio.run(
        admin.create_key(_settings(), name=name.strip(), is_admin=is_admin, budget_usd=budget)
    )
    typer.echo(f"created key {made.prefix}... for {made.name}{' (admin)' if made.is_admin else ''}")
    typer.echo("store it now; it will not be shown again:")
    typer.echo(made.key)


@keys.command("list")
def list_() -> None:
    """List keys by prefix (the keys themselves are not stored)."""
    found: list[KeyInfo] = asyncio.run(admin.list_keys(_settings()))
    if not found:
        typer.echo("no keys: auth is disabled (the service is open on loopback only)")
        return
    for info in found:
        budget = "no budget" if info.budget_usd is None else f"budget {info.budget_usd:g} USD"
        flags = ", ".join(
            part
            for part in ("admin" if info.is_admin else "", "REVOKED" if info.revoked else "")
            if part
        )
        typer.echo(f"{info.prefix}...  {info.name}  {budget}{'  ' + flags if flags else ''}")


@keys.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `keys list` shows it.")],
) -> None:
    """Revoke a key: a running service refuses it within 2 s (it caches accepted keys that
    long); its user and threads are kept."""
    clean = prefix.removesuffix("...")
    count = asyncio.run(admin.revoke_key(_settings(), clean))
    if count == 0:
        typer.echo(f"no active key with prefix {clean!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"revoked {count} key(s) with prefix {clean}")
