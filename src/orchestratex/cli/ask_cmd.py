"""`orchestratex ask`: answer one prompt, in process or on a server, with live progress.

In process, the run goes through a local `Service` (settings, SQLite store), so it is recorded
like any other. With `--server`, the prompt is posted and the run followed over SSE. Ctrl-C
cancels the run (the best answer so far is shown) and exits with 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from orchestratex.cli.client import ServerClient
from orchestratex.cli.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    CliError,
    describe,
    run_command,
)
from orchestratex.cli.progress import ProgressRenderer, is_fake_answer, mode_note, render_result
from orchestratex.core.events import CancelledEvent, CompletedEvent, Event, FailedEvent, is_terminal
from orchestratex.core.orchestration import OrchestrationRequest, OrchestrationResult, Preferences
from orchestratex.runtime.auth import ANONYMOUS
from orchestratex.runtime.catalog_setup import describe_validation_error
from orchestratex.runtime.replay_mode import ReplayDataError
from orchestratex.runtime.service import Service
from orchestratex.runtime.settings import load_settings

NOT_RECORDED_HINT = (
    "not recorded: the offline demo (replay mode) answers only {which}; "
    "list them with `orchestratex demo prompts --search TEXT`, or set a provider key "
    "(e.g. OPENAI_API_KEY) to ask anything"
)
CANCEL_WAIT_S = 15.0
"""How long to wait for the run to confirm a cancel before giving up on it."""


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name


INTERRUPT = _Signal("interrupt")
END = _Signal("end")


@dataclass
class Outcome:
    """How following a run ended: its terminal event (None if it never came), and whether the
    user interrupted it."""

    terminal: Event | None
    interrupted: bool
    notes: list[str] = field(default_factory=list)

    @property
    def result(self) -> OrchestrationResult | None:
        if isinstance(self.terminal, CompletedEvent | FailedEvent | CancelledEvent):
            return self.terminal.result
        return None


def _install_sigint(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> bool:
    """Route Ctrl-C to `callback`; False where that is impossible (not the main thread)."""
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (ValueError, RuntimeError, NotImplementedError):
        return False
    return True


async def follow(
    events: AsyncIterator[Event],
    *,
    on_event: Callable[[Event], None],
    request_cancel: Callable[[], Awaitable[bool]],
    on_interrupt: Callable[[], None],
) -> Outcome:
    """Feed `events` to `on_event` until the terminal one; on Ctrl-C, request a cancel once and
    keep reading until the run confirms it (a second Ctrl-C stops waiting)."""
    queue: asyncio.Queue[Event | _Signal | Exception] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in events:
                queue.put_nowait(event)
        except Exception as exc:
            queue.put_nowait(exc)
        else:
            queue.put_nowait(END)

    loop = asyncio.get_running_loop()
    reader = asyncio.create_task(pump())
    installed = _install_sigint(loop, lambda: queue.put_nowait(INTERRUPT))
    interrupted = False
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), CANCEL_WAIT_S if interrupted else None)
            except TimeoutError:
                return Outcome(None, interrupted=True)
            if item is INTERRUPT:
                if interrupted:
                    return Outcome(None, interrupted=True)
                interrupted = True
                on_interrupt()
                try:
                    await request_cancel()
                except Exception as exc:
                    return Outcome(None, True, [f"the cancel request failed: {describe(exc)[0]}"])
            elif item is END:
                raise CliError("the event stream ended before the run finished")
            elif isinstance(item, Exception):
                raise item
            elif not isinstance(item, _Signal):
                on_event(item)
                if is_terminal(item):
                    return Outcome(item, interrupted=interrupted)
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


@dataclass
class AskOptions:
    """The command line, minus how to print."""

    request: OrchestrationRequest
    server: str | None
    api_key: str | None
    json_output: bool


class _Display:
    """Progress on the console, or nothing (JSON mode)."""

    def __init__(self, console: Console, *, quiet: bool, critiques: bool = True) -> None:
        self.console = console
        self.renderer = None if quiet else ProgressRenderer(console, critiques=critiques)

    def start(self) -> None:
        if self.renderer is not None:
            self.renderer.start()

    def handle(self, event: Event) -> None:
        if self.renderer is not None:
            self.renderer.handle(event)

    def interrupted(self) -> None:
        if self.renderer is not None:
            self.renderer.note("cancelling the run (Ctrl-C again to stop waiting)...")
        else:
            typer.echo("cancelling the run...", err=True)

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.stop()


async def _ask_local(options: AskOptions, display: _Display) -> Outcome:
    settings = load_settings()
    service = Service(settings, train_router=False)
    if not service.catalog.available(service.env):
        raise CliError(
            "no model is available: no provider has its API key set "
            "(see `orchestratex models`), or use --server URL"
        )
    notes = [n for n in [mode_note(getattr(service, "mode", None))] if n]
    if service.replay is not None:
        # Checked before the service starts: an unrecorded prompt fails in well under a second.
        with contextlib.suppress(ReplayDataError):  # the service says why, on submit
            index = await service.replay.load()
            if index.find(options.request.prompt) is None:
                raise CliError(NOT_RECORDED_HINT.format(which=f"its {len(index)} recorded prompts"))
    await service.start()
    try:
        thread_id = await service.submit(options.request, user=ANONYMOUS)

        async def cancel() -> bool:
            return bool(await service.cancel(thread_id, user=ANONYMOUS))

        display.start()
        outcome = await follow(
            service.follow(thread_id),
            on_event=display.handle,
            request_cancel=cancel,
            on_interrupt=display.interrupted,
        )
    finally:
        display.close()
        await service.stop()
    outcome.notes[:0] = notes
    return outcome


async def _ask_remote(options: AskOptions, display: _Display, server: str) -> Outcome:
    async with ServerClient(server, options.api_key) as client:
        health = await client.healthz()
        if health.get("auth") == "enabled" and not options.api_key:
            raise CliError("the server needs an API key: pass --api-key or set ORX_API_KEY")
        notes = [n for n in [mode_note(health.get("mode"))] if n]
        try:
            thread_id = await client.submit(options.request)
        except CliError as exc:
            if "422 not_recorded" in exc.message and "not recorded" in exc.message:
                raise CliError(
                    NOT_RECORDED_HINT.format(which="the server's recorded prompts")
                ) from None
            raise

        async def cancel() -> bool:
            return await client.cancel(thread_id)

        display.start()
        try:
            outcome = await follow(
                client.events(thread_id),
                on_event=display.handle,
                request_cancel=cancel,
                on_interrupt=display.interrupted,
            )
        finally:
            display.close()
    outcome.notes[:0] = notes
    return outcome


def _finish(outcome: Outcome, display: _Display, *, json_output: bool) -> int:
    """Print the result; returns the exit code."""
    result = outcome.result
    notes = list(outcome.notes)
    if result is not None and is_fake_answer(result.answer):
        notes.append("answers come from the fake provider (a test tool, not a model)")
    if json_output or result is None:
        for message in notes:
            typer.echo(f"note: {message}", err=True)
        if result is not None:
            typer.echo(result.model_dump_json(indent=2))
    else:
        render_result(display.console, result, notes=notes)
    if outcome.interrupted:
        if outcome.terminal is None:
            typer.echo("cancel requested; the run did not confirm it in time", err=True)
        elif not json_output:
            typer.echo("run cancelled (Ctrl-C)")
        return EXIT_INTERRUPTED
    if isinstance(outcome.terminal, FailedEvent):
        if result is None or json_output:
            typer.echo(f"the run failed: {outcome.terminal.error}", err=True)
        return EXIT_FAILURE
    if isinstance(outcome.terminal, CancelledEvent):
        typer.echo("the run was cancelled by someone else", err=True)
        return EXIT_FAILURE
    return 0


async def _ask(options: AskOptions, display: _Display) -> int:
    if options.server:
        outcome = await _ask_remote(options, display, options.server)
    else:
        outcome = await _ask_local(options, display)
    return _finish(outcome, display, json_output=options.json_output)


def _request(
    prompt: str,
    max_rounds: int | None,
    threshold: float | None,
    model: str | None,
    budget: float | None,
    weights: dict[str, float | None],
) -> OrchestrationRequest:
    fields: dict[str, Any] = {"prompt": prompt}
    if max_rounds is not None:
        fields["max_rounds"] = max_rounds
    if threshold is not None:
        fields["threshold"] = threshold
    if model:
        fields["model"] = model
    preferences = {k: v for k, v in weights.items() if v is not None}
    if budget is not None:
        preferences["budget_usd"] = budget
    try:
        if preferences:
            fields["preferences"] = Preferences(**preferences)
        return OrchestrationRequest(**fields)
    except ValidationError as exc:
        raise typer.BadParameter(describe_validation_error(exc)) from None


def ask(
    prompt: Annotated[str, typer.Argument(help="The prompt; '-' reads it from stdin.")],
    max_rounds: Annotated[
        int | None, typer.Option(min=1, max=10, help="Most rounds (default: settings).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=10.0, help="Stop at this score (0..10).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Force this catalog model (skips selection).")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Hard cap for the run, USD (> 0).")] = None,
    quality_weight: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Selection weight of quality.")
    ] = None,
    cost_weight: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Selection weight of cost.")
    ] = None,
    latency_weight: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Selection weight of latency.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the final result as JSON.")
    ] = False,
    critiques: Annotated[
        bool,
        typer.Option(help="Show each judge's critique and suggestions under its score."),
    ] = True,
    server: Annotated[
        str | None, typer.Option(help="Use the service at this URL instead of running locally.")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="ORX_API_KEY", show_default=False, help="API key for --server."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Answer a prompt with the best of several models, showing progress live."""
    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise typer.BadParameter("the prompt is empty", param_hint="PROMPT")
    weights = {
        "quality_weight": quality_weight,
        "cost_weight": cost_weight,
        "latency_weight": latency_weight,
    }
    request = _request(prompt, max_rounds, threshold, model, budget, weights)
    options = AskOptions(request, server, api_key, json_output)
    display = _Display(Console(), quiet=json_output, critiques=critiques)
    code = run_command(_ask(options, display), debug=debug)
    if code:
        raise typer.Exit(code=code)
