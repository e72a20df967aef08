"""`orchestratex models`: the model catalog, its prices, and which providers have a key set.

In replay mode (the offline demo: no provider key set) it lists the replay models the service
would use, the recorded GPT-4 and Mixtral answers and the recorded judge, not the live catalog.
The table fits the terminal: below WIDE_COLUMNS it leaves out family, model id and context.
Only the names of key variables are ever shown, never their values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, NoReturn

import typer
import yaml
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import ConfigurationError
from orchestratex.core.types import Domain
from orchestratex.runtime.catalog_setup import (
    Catalog,
    catalog_from_settings,
    describe_validation_error,
    replay_catalog,
)
from orchestratex.runtime.replay_mode import RECORDED_JUDGE, Mode, resolve_mode
from orchestratex.runtime.settings import load_settings

WIDE_COLUMNS = 150
"""From this terminal width on, the table also shows family, model id and context window."""
REPLAY_NOTE = (
    "Offline demo (replay mode): no provider key is set, so the service replays real recorded "
    "answers of these models (RouteLLM data); no model is called. Set a provider key "
    "(e.g. OPENAI_API_KEY) to use the live catalog."
)


def _top_specialty(spec: ModelSpec) -> tuple[Domain, float]:
    # On a tie (e.g. no priors given at all) prefer `general` over an arbitrary first domain.
    domain = max(Domain, key=lambda d: (spec.specialty(d), d is Domain.GENERAL))
    return domain, spec.specialty(domain)


def _key_status(catalog: Catalog, provider: str, env: Mapping[str, str]) -> tuple[str, bool]:
    """A label naming the key variable (never its value), and whether the provider is usable."""
    variable = catalog.providers[provider].api_key_env
    configured = catalog.is_configured(provider, env)
    if variable is None:
        return "no key needed", True
    return f"{variable} {'set' if configured else 'missing'}", configured


def _price_dict(price: Price | None) -> dict[str, Any] | None:
    return None if price is None else price.model_dump()


def _answers(spec: ModelSpec) -> bool:
    """False for the recorded judge: it only judges, it never answers a prompt."""
    return spec.key != RECORDED_JUDGE


def _as_json(catalog: Catalog, env: Mapping[str, str], mode: Mode) -> dict[str, Any]:
    models = []
    for spec in catalog.models.values():
        domain, prior = _top_specialty(spec)
        models.append(
            {
                "key": spec.key,
                "family": spec.family,
                "provider": spec.provider,
                "model_id": spec.model_id,
                "context_window": spec.context_window,
                "tier": spec.tier,
                "enabled": spec.enabled,
                "price": _price_dict(catalog.price(spec.key)),
                "price_known": catalog.price(spec.key) is not None,
                "top_specialty": {"domain": domain.value, "prior": prior},
                "specialties": {d.value: v for d, v in spec.specialties.items()},
                "typical_latency_ms": spec.typical_latency_ms,
                "provider_configured": catalog.is_configured(spec.provider, env),
                "answers": _answers(spec),
            }
        )
    providers = [
        {
            "name": p.name,
            "protocol": p.protocol,
            "base_url": None if p.base_url is None else str(p.base_url),
            "api_key_env": p.api_key_env,
            "configured": catalog.is_configured(p.name, env),
            "requests_per_minute": p.requests_per_minute,
            "tokens_per_minute": p.tokens_per_minute,
        }
        for p in catalog.providers.values()
    ]
    return {"mode": mode, "models": models, "providers": providers}


def _price_cell(price: Price | None, *, wide: bool) -> Text:
    if price is None:
        return Text("unknown price" if wide else "unknown", style="bold yellow")
    if wide:
        return Text(f"${price.input_per_mtok:g} / ${price.output_per_mtok:g}")
    return Text(f"{price.input_per_mtok:g}/{price.output_per_mtok:g}")


def _status_cell(catalog: Catalog, spec: ModelSpec, env: Mapping[str, str], *, wide: bool) -> Text:
    """Whether the model can be used: the key variable's name when wide, a word otherwise."""
    label, configured = _key_status(catalog, spec.provider, env)
    if not wide:
        label = "ready" if configured else "no key"
    if not _answers(spec):
        label = "judge only" if configured else label
    return Text(label, style="green" if configured else "red")


def _table(catalog: Catalog, env: Mapping[str, str], *, width: int, title: str) -> Table:
    wide = width >= WIDE_COLUMNS
    # One provider (the offline demo): its name is in the summary, not on every row.
    show_provider = wide or len(catalog.providers) > 1
    table = Table(
        title=title,
        box=box.HEAVY_HEAD if wide else None,
        header_style="bold" if wide else "bold underline",
        pad_edge=wide,
    )
    longest = max((len(k) for k in catalog.models), default=3)
    table.add_column("Key", overflow="fold", min_width=min(longest, 26))
    if wide:
        table.add_column("Family")
    if show_provider:
        table.add_column("Provider", overflow="fold")
    if wide:
        table.add_column("Model id", overflow="fold")
        table.add_column("Context", justify="right")
    table.add_column("$/Mtok in / out" if wide else "USD/Mtok", no_wrap=True)
    table.add_column("Top specialty" if wide else "Best at", no_wrap=True)
    table.add_column("Latency", justify="right", no_wrap=True)
    table.add_column("Provider key" if wide else "Status", no_wrap=True)
    for spec in catalog.models.values():
        domain, prior = _top_specialty(spec)
        key = spec.key if spec.enabled else f"{spec.key} (disabled)"
        cells: list[str | Text] = [key]
        if wide:
            cells.append(spec.family)
        if show_provider:
            cells.append(spec.provider)
        if wide:
            cells += [spec.model_id, f"{spec.context_window:,}"]
        cells += [
            _price_cell(catalog.price(spec.key), wide=wide),
            f"{domain.value} {prior:.2f}",
            f"{spec.typical_latency_ms / 1000:.1f} s",
            _status_cell(catalog, spec, env, wide=wide),
        ]
        table.add_row(*cells, style=None if spec.enabled else "dim")
    return table


def _summary(catalog: Catalog, env: Mapping[str, str], *, width: int) -> str:
    ready = [p for p in catalog.providers if catalog.is_configured(p, env)]
    missing = [
        spec.api_key_env
        for name, spec in catalog.providers.items()
        if spec.api_key_env is not None and name not in ready
    ]
    unknown = [k for k in catalog.models if catalog.price(k) is None]
    lines = [
        f"Configured providers ({len(ready)} of {len(catalog.providers)}): "
        + (", ".join(ready) or "none"),
        f"Models: {len(catalog.models)}, enabled {len(catalog.enabled())}, "
        f"available now {len(catalog.available(env))}.",
    ]
    if width < WIDE_COLUMNS:
        lines.append("USD/Mtok: US dollars per million input/output tokens.")
    if missing:
        lines.append("To enable more providers, set: " + ", ".join(missing))
    judges = [k for k, spec in catalog.models.items() if not _answers(spec)]
    if judges:
        lines.append(f"Judge only (never answers a prompt): {', '.join(judges)}")
    if unknown:
        lines.append(
            "Unknown price (cost reported as unknown; set `prices:` in config): "
            + ", ".join(unknown)
        )
    return "\n".join(lines)


def _fail(message: str) -> NoReturn:
    typer.echo(f"configuration error: {message}", err=True)
    raise typer.Exit(code=2)


def models(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the catalog as JSON instead of a table.")
    ] = False,
) -> None:
    """List the model catalog: prices, specialties, latency, and which providers are configured."""
    try:
        settings = load_settings()
        catalog = catalog_from_settings(settings)  # validated in either mode
        mode = resolve_mode(settings, os.environ)
        if mode == "replay":
            catalog = replay_catalog()
    except ConfigurationError as exc:
        _fail(exc.message)
    except ValidationError as exc:
        _fail(f"invalid settings: {describe_validation_error(exc)}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        _fail(f"ORX_CONFIG is not valid YAML{where}")
    env = dict(os.environ)
    if json_output:
        typer.echo(json.dumps(_as_json(catalog, env, mode), indent=2))
        return
    console = Console()
    title = "Replay models (offline demo)" if mode == "replay" else "Model catalog"
    console.print(_table(catalog, env, width=console.width, title=title))
    if mode == "replay":
        console.print(REPLAY_NOTE, highlight=False, markup=False)
    console.print(_summary(catalog, env, width=console.width), highlight=False, markup=False)
