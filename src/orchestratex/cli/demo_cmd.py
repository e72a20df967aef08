"""`orchestratex demo`: the recorded prompts the offline demo (replay mode) can answer.

`demo prompts` lists them (filtered by source and text), `demo show ID` prints one prompt's
full text, ready for `orchestratex ask "$(orchestratex demo show ID)"`. The recordings are read
from `routellm_data_dir` (ORX_ROUTELLM_DATA_DIR); nothing is called.
"""

from __future__ import annotations

import json
import shutil
from typing import Annotated

import typer

from orchestratex.cli.errors import CliError, run_command
from orchestratex.runtime.replay_mode import (
    RecordedPrompt,
    ReplayData,
    ReplayDataError,
    ReplayIndex,
    Source,
)
from orchestratex.runtime.settings import load_settings

demo = typer.Typer(help="The offline demo's recorded prompts.", no_args_is_help=True)


async def _index() -> ReplayIndex:
    data = ReplayData(load_settings().routellm_data_dir)
    try:
        return await data.load()
    except ReplayDataError as exc:
        raise CliError(
            f"the recordings cannot be read ({exc}); set ORX_ROUTELLM_DATA_DIR to the "
            "RouteLLM data folder"
        ) from None


def _one_line(prompt: RecordedPrompt, width: int) -> str:
    """`id  source/category  text`, the text on one line and cut to the terminal's width."""
    head = f"{prompt.id}  {prompt.source}/{prompt.category}  "
    text = " ".join(prompt.text.split())
    room = max(width - len(head), 10)
    if len(text) > room:
        text = text[: room - 1] + "…"
    return head + text


def prompts(
    source: Annotated[
        Source | None, typer.Option(help="Only this source: gsm8k (math) or mt_bench.")
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Only prompts whose text or category contains this.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=2000, help="At most this many.")] = 20,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print id, source, category and full text as JSON.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """List recorded prompts (the only prompts the offline demo answers)."""
    index = run_command(_index(), debug=debug)
    found = index.search(source=source, query=search, limit=limit)
    if json_output:
        items = [
            {"id": p.id, "source": p.source, "category": p.category, "text": p.text} for p in found
        ]
        typer.echo(json.dumps({"total": len(index), "items": items}, indent=2))
        return
    width = shutil.get_terminal_size().columns
    for prompt in found:
        typer.echo(_one_line(prompt, width))
    shown = f"{len(found)} shown" if found else "none matches"
    typer.echo(f"{len(index)} recorded prompts, {shown}.", err=True)
    if found:
        typer.echo(
            'Ask one: orchestratex ask "$(orchestratex demo show ID)"',
            err=True,
        )


def show(
    prompt_id: Annotated[str, typer.Argument(metavar="ID", help="A recorded prompt's id.")],
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Print one recorded prompt's full text."""
    index = run_command(_index(), debug=debug)
    prompt = index.by_id.get(prompt_id)
    if prompt is None:
        typer.echo(
            f"no recorded prompt {prompt_id!r}: list them with `orchestratex demo prompts`",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(prompt.text)


demo.command("prompts")(prompts)
demo.command("show")(show)
