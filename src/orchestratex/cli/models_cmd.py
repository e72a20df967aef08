"""`orchestratex models`: the model catalog, its prices, and which providers have a key set.

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
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestratex.core.catalog import ModelSpec, Price
from orchestratex.core.errors import ConfigurationError
from orchestratex.core.types import Domain
from orchestratex.providers.catalog import Catalog
from orchestratex.runtime.catalog_setup import catalog_from_settings, describe_validation_error
from orchestratex.runtime.settings import load_settings


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


def _as_json(catalog: Catalog, env: Mapping[str, str]) -> dict[str, Any]:
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
    return {"models": models, "providers": providers}


def _price_cell(price: Price | None) -> Text:
    if price is None:
        return Text("unknown price", style="bold yellow")
    return Text(f"${price.input_per_mtok:g} / ${price.output_per_mtok:g}")


def _table(catalog: Catalog, env: Mapping[str, str]) -> Table:
    table = Table(title="Model catalog", header_style="bold")
    table.add_column("Key", no_wrap=True)
    table.add_column("Family")
    table.add_column("Provider", no_wrap=True)
    table.add_column("Model id", overflow="fold")
    table.add_column("Context", justify="right")
    table.add_column("$/Mtok in / out", no_wrap=True)
    table.add_column("Top specialty", no_wrap=True)
    table.add_column("Latency", justify="right")
    table.add_column("Provider key", no_wrap=True)
    for spec in catalog.models.values():
        domain, prior = _top_specialty(spec)
        label, configured = _key_status(catalog, spec.provider, env)
        key = spec.key if spec.enabled else f"{spec.key} (disabled)"
        table.add_row(
            key,
            spec.family,
            spec.provider,
            spec.model_id,
            f"{spec.context_window:,}",
            _price_cell(catalog.price(spec.key)),
            f"{domain.value} {prior:.2f}",
            f"{spec.typical_latency_ms / 1000:.1f} s",
            Text(label, style="green" if configured else "red"),
            style=None if spec.enabled else "dim",
        )
    return table


def _summary(catalog: Catalog, env: Mapping[str, str]) -> str:
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
    if missing:
        lines.append("To enable more providers, set: " + ", ".join(missing))
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
        catalog = catalog_from_settings(load_settings())
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
        typer.echo(json.dumps(_as_json(catalog, env), indent=2))
        return
    console = Console()
    console.print(_table(catalog, env))
    console.print(_summary(catalog, env), highlight=False, markup=False)
