"""`orchestratex health`: each model's provider, configuration, circuit, success rate and latency.

From a server, the figures are its gateway's live ones. In process, a fresh gateway has made no
calls yet, so only configuration is known; `--probe` then makes one tiny call per provider.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestratex.cli.client import ServerClient
from orchestratex.cli.errors import EXIT_FAILURE, CliError, run_command
from orchestratex.cli.progress import mode_note
from orchestratex.runtime.catalog_setup import mode_and_catalog
from orchestratex.runtime.selftest import fresh_health
from orchestratex.runtime.settings import load_settings

LOCAL_NOTE = "in process: a fresh gateway has made no calls yet (use --server for live figures)"


async def _local(probe: bool) -> dict[str, Any]:
    env = None  # the process environment, as the service would read it
    mode, catalog = mode_and_catalog(load_settings(), env)
    if probe and mode == "replay":
        raise CliError("replay mode has no live provider to probe (set a provider key first)")
    health, found = await fresh_health(catalog, env, probe=probe)
    providers = {name: catalog.is_configured(name, env) for name in catalog.providers}
    models = [
        {
            "key": spec.key,
            "provider": spec.provider,
            "family": spec.family,
            "tier": spec.tier,
            "enabled": spec.enabled,
            "configured": providers[spec.provider],
            "price_known": catalog.price(spec.key) is not None,
            "health": health[spec.key].model_dump(mode="json") if spec.key in health else None,
        }
        for spec in catalog.models.values()
    ]
    checks = None
    if found is not None:
        checks = {
            "ok": bool(found) and all(c.ok for c in found),
            "providers": [c.model_dump(mode="json") for c in found],
        }
    return {
        "source": "local",
        "mode": mode,
        "note": LOCAL_NOTE,
        "models": models,
        "providers": providers,
        "probe": checks,
    }


async def _remote(server: str, api_key: str | None, probe: bool) -> dict[str, Any]:
    async with ServerClient(server, api_key) as client:
        info = await client.healthz()
        body = await client.models_health()
        checks = await client.self_test() if probe else None
    return {
        "source": client.base_url,
        "mode": info.get("mode"),
        "version": info.get("version"),
        "auth": info.get("auth"),
        "note": None,
        "models": body.get("models", []),
        "providers": body.get("providers", {}),
        "probe": checks,
    }


def _health_cells(health: dict[str, Any] | None) -> tuple[Text, str, str]:
    if not health:
        return Text("-", style="dim"), "no calls yet", "-"
    circuit = str(health.get("circuit", "closed"))
    colour = {"closed": "green", "half_open": "yellow", "open": "red"}.get(circuit, "")
    calls = int(health.get("recent_calls") or 0)
    rate = (
        "no calls yet"
        if calls == 0
        else f"{float(health.get('recent_success_rate', 0.0)):.0%} of {calls}"
    )
    p50 = health.get("latency_p50_ms")
    latency = "-" if p50 is None else f"{float(p50):.0f} ms"
    return Text(circuit, style=colour), rate, latency


def _table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Model health ({report['source']})", header_style="bold")
    table.add_column("Model", overflow="fold")
    table.add_column("Provider", overflow="fold")
    for name in ("Configured", "Circuit", "Recent success", "p50 latency"):
        table.add_column(name, no_wrap=True)
    for model in report["models"]:
        circuit, rate, latency = _health_cells(model.get("health"))
        configured = bool(model.get("configured"))
        key = str(model["key"]) + ("" if model.get("enabled", True) else " (disabled)")
        table.add_row(
            key,
            str(model["provider"]),
            Text("yes" if configured else "no", style="green" if configured else "red"),
            circuit,
            rate,
            latency,
            style=None if model.get("enabled", True) else "dim",
        )
    return table


def _probe_table(probe: dict[str, Any]) -> Table:
    table = Table(title="Self-test", header_style="bold")
    for name in ("Provider", "Model", "Result", "Latency"):
        table.add_column(name)
    for check in probe.get("providers", []):
        ok = bool(check.get("ok"))
        detail = "ok" if ok else f"{check.get('error_code')}: {check.get('error') or ''}".strip()
        table.add_row(
            str(check.get("provider")),
            str(check.get("model")),
            Text(detail, style="green" if ok else "red"),
            f"{float(check.get('latency_ms') or 0):.0f} ms",
        )
    return table


def _print(report: dict[str, Any]) -> None:
    console = Console()
    console.print(_table(report))
    notes = [report.get("note"), mode_note(report.get("mode"))]
    for note in [n for n in notes if n]:
        console.print(Text(str(note), style="yellow"))
    probe = report.get("probe")
    if probe is not None:
        if probe.get("providers"):
            console.print(_probe_table(probe))
        else:
            console.print(Text("no configured provider to probe", style="yellow"))


def health(
    server: Annotated[
        str | None, typer.Option(help="Ask the service at this URL instead of checking locally.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="ORX_API_KEY", show_default=False, help="API key for --server."),
    ] = None,
    probe: Annotated[
        bool,
        typer.Option("--probe", help="Run the self-test: one tiny call per configured provider."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Show each model's provider, configuration, circuit state, success rate and latency."""
    work = _remote(server, api_key, probe) if server else _local(probe)
    report = run_command(work, debug=debug)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    probe_result = report.get("probe")
    if probe_result is not None and not probe_result.get("ok"):
        raise typer.Exit(code=EXIT_FAILURE)
