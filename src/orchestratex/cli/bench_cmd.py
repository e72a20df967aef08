"""`orchestratex bench ...`: offline benchmarks of engine components."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestratex.bench.analysis_bench import format_report, run_analysis_bench
from orchestratex.bench.analysis_set import DEFAULT_DATA_DIR

bench = typer.Typer(help="Offline benchmarks on recorded public data.", no_args_is_help=True)


@bench.command("analysis")
def analysis(
    data: Annotated[
        Path, typer.Option("--data", help="RouteLLM data folder (see its README.md).")
    ] = DEFAULT_DATA_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Accuracy (overall, per source, per domain, confusion) and speed of prompt analysis."""
    try:
        report = run_analysis_bench(data)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))
