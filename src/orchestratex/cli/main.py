"""The `orchestratex` command. Each sub-command lives in its own module and is registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="orchestratex",
    help="OrchestrateX: answer a prompt with the best of several LLMs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """OrchestrateX command line."""


# Sub-commands register below, one line each.
from orchestratex.cli import models_cmd  # noqa: E402

app.command("models")(models_cmd.models)
from orchestratex.cli import fake_provider_cmd  # noqa: E402

app.command("fake-provider")(fake_provider_cmd.fake_provider)
from orchestratex.cli import bench_cmd  # noqa: E402

app.add_typer(bench_cmd.bench, name="bench")
from orchestratex.cli import serve_cmd  # noqa: E402

app.command("serve")(serve_cmd.serve)
from orchestratex.cli import keys_cmd  # noqa: E402

app.add_typer(keys_cmd.keys, name="keys")
from orchestratex.cli import ask_cmd  # noqa: E402

app.command("ask")(ask_cmd.ask)
from orchestratex.cli import health_cmd  # noqa: E402

app.command("health")(health_cmd.health)
from orchestratex.cli import analytics_cmd  # noqa: E402

app.command("analytics")(analytics_cmd.analytics_command)
from orchestratex.cli import worker_cmd  # noqa: E402

app.command("worker")(worker_cmd.worker)
from orchestratex.cli import demo_cmd  # noqa: E402

app.add_typer(demo_cmd.demo, name="demo")
from orchestratex.cli import router_cmd  # noqa: E402

app.add_typer(router_cmd.router, name="router")
