"""`orchestratex router ...`: learned selection from this deployment's own judged history."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from orchestratex.core.errors import ConfigurationError
from orchestratex.engine.learned_quality import DEFAULT_MIN_HISTORY, QualityModel
from orchestratex.runtime.admin import train_quality_model
from orchestratex.runtime.quality_model import quality_model_path
from orchestratex.runtime.settings import load_settings

router = typer.Typer(help="Learned selection from the judged history.", no_args_is_help=True)


async def _train(out: Path | None, min_history: int) -> tuple[QualityModel, int, Path]:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        typer.echo(f"configuration error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    path = out or quality_model_path(settings.data_dir)
    model, seen = await train_quality_model(settings, path, min_history=min_history)
    return model, seen, path


@router.command("train")
def train(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to write the model (default data_dir/quality-model.json)."
        ),
    ] = None,
    min_history: Annotated[
        int, typer.Option("--min-history", min=2, help="Judged answers a model needs.")
    ] = DEFAULT_MIN_HISTORY,
) -> None:
    """Fit the per-model quality model on every judged answer in the store and save it.

    The service loads it at its next start; models with less history keep the catalog priors.
    """
    model, seen, path = asyncio.run(_train(out, min_history))
    typer.echo(f"trained on {seen} judged answers; written to {path}")
    if not model.models:
        typer.echo(f"no model has {min_history} judged answers yet: selection keeps the priors")
    for key, n in sorted(model.models.items()):
        typer.echo(f"  {key}: {n} judged answers")
