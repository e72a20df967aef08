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
