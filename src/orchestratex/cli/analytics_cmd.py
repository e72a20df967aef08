"""`orchestratex analytics`: model performance, costs, selection accuracy and usage.

Read from a server's analytics API, or in process from the local database. Times without a zone
are UTC; `--until` is exclusive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestratex.cli.client import ServerClient
from orchestratex.cli.errors import run_command
from orchestratex.cli.progress import money
from orchestratex.runtime.analytics import Bucket, Dashboard, Scope, local_dashboard
from orchestratex.runtime.settings import load_settings


class Period(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def _local(period: Bucket, since: datetime | None, until: datetime | None) -> Dashboard:
    return await local_dashboard(load_settings(), Scope(since=since, until=until), period)


async def _remote(
    server: str, api_key: str | None, period: Bucket, since: datetime | None, until: datetime | None
) -> Dashboard:
    async with ServerClient(server, api_key) as client:
        return await client.dashboard(period, since, until)


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _models_table(report: Dashboard) -> Table:
    table = Table(title="Model performance", header_style="bold")
    for name in ("Model", "Domain", "Rounds", "Mean score", "Mean latency", "Calls", "Success"):
        table.add_column(name, justify="left" if name in ("Model", "Domain") else "right")
    for row in report.models:
        table.add_row(
            row.model,
            row.domain or "-",
            str(row.rounds),
            _num(row.mean_score, "{:.1f}"),
            _num(row.mean_latency_ms, "{:.0f} ms"),
            str(row.calls),
            _num(row.success_rate, "{:.0%}"),
        )
    return table


def _costs_tables(report: Dashboard) -> tuple[Table, Table]:
    costs = report.costs
    total = f"total {money(costs.total_cost_usd)}, {money(costs.estimated_cost_usd)} estimated"
    by_model = Table(title=f"Costs by model ({total})", header_style="bold")
    columns = ("Model", "Calls", "Input tokens", "Output tokens", "Cost", "Estimated", "Inexact")
    for name in columns:
        by_model.add_column(name, justify="left" if name == "Model" else "right")
    for line in costs.by_model:
        by_model.add_row(
            line.model,
            str(line.calls),
            f"{line.input_tokens:,}",
            f"{line.output_tokens:,}",
            money(line.cost_usd),
            money(line.estimated_cost_usd),
            str(line.unknown_cost_calls),
        )
    by_period = Table(title=f"Costs by {costs.bucket} (UTC)", header_style="bold")
    for name in ("Start", "Calls", "Cost"):
        by_period.add_column(name, justify="left" if name == "Start" else "right")
    fmt = "%Y-%m-%d %H:%M" if costs.bucket == "hour" else "%Y-%m-%d"
    for bucket in costs.by_bucket:
        by_period.add_row(bucket.start.strftime(fmt), str(bucket.calls), money(bucket.cost_usd))
    return by_model, by_period


def _selection_table(report: Dashboard) -> Table:
    sel = report.selection
    table = Table(title="Selection accuracy", header_style="bold", show_header=False)
    table.add_column("What")
    table.add_column("Value", justify="right")
    table.add_row("Decisions (ended runs)", str(sel.decisions))
    table.add_row("Kept without escalation", str(sel.kept_without_escalation))
    table.add_row("Share kept", _num(sel.share_kept, "{:.0%}"))
    for where, runs in sorted(sel.threshold_rounds.items()):
        label = "Threshold never met" if where == "never" else f"Threshold met in round {where}"
        table.add_row(label, str(runs))
    return table


def _usage_table(report: Dashboard) -> Table:
    use = report.usage
    table = Table(title="Usage", header_style="bold", show_header=False)
    table.add_column("What")
    table.add_column("Value", justify="right")
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(use.threads_by_status.items()))
    table.add_row("Runs", f"{use.threads}" + (f" ({statuses})" if statuses else ""))
    table.add_row("Model calls", f"{use.calls} ({use.successful_calls} ok)")
    table.add_row("Success rate", _num(use.success_rate, "{:.0%}"))
    table.add_row("Tokens in / out", f"{use.input_tokens:,} / {use.output_tokens:,}")
    table.add_row(
        "Mean / p50 latency",
        f"{_num(use.mean_latency_ms, '{:.0f} ms')} / {_num(use.p50_latency_ms, '{:.0f} ms')}",
    )
    return table


def _print(report: Dashboard) -> None:
    console = Console()
    if report.usage.threads == 0 and report.usage.calls == 0:
        console.print("no runs recorded in this period")
        return
    console.print(_models_table(report))
    for table in _costs_tables(report):
        console.print(table)
    console.print(_selection_table(report))
    console.print(_usage_table(report))


def analytics_command(
    period: Annotated[Period, typer.Option(help="Time bucket of the cost series.")] = Period.day,
    since: Annotated[
        datetime | None, typer.Option(help="From this time on (UTC unless a zone is given).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time (exclusive).")] = None,
    server: Annotated[
        str | None, typer.Option(help="Read from the service at this URL instead of locally.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="ORX_API_KEY", show_default=False, help="API key for --server."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Model performance, costs by model and period, selection accuracy and usage."""
    bucket: Bucket = period.value
    start, end = _utc(since), _utc(until)
    if start is not None and end is not None and start >= end:
        raise typer.BadParameter("must be later than --since", param_hint="--until")
    work = _remote(server, api_key, bucket, start, end) if server else _local(bucket, start, end)
    report = run_command(work, debug=debug)
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print(report)
