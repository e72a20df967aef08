"""One place that turns a failure into ONE clear line on stderr and an exit code.

With `--debug` the traceback is shown as well. Typer's own usage errors (bad option values) never
get here: Click reports them before a command runs.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import httpx
import typer
import yaml
from pydantic import ValidationError

from orchestratex.core.errors import ConfigurationError, OrchestrateXError
from orchestratex.runtime.catalog_setup import describe_validation_error

T = TypeVar("T")

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure already phrased for the user, with the exit code to leave with."""

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _connection_reason(exc: httpx.TransportError) -> str:
    chain = _causes(exc)
    text = " ".join(str(e) for e in chain).lower()
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return str(exc) or type(exc).__name__


def _target(exc: httpx.TransportError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:
        return "the server"
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def describe(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for `exc`."""
    if isinstance(exc, CliError):
        return exc.message, exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(exc, ConfigurationError):
        return f"configuration error: {exc.message}", EXIT_CONFIG
    if isinstance(exc, ValidationError):
        return f"invalid settings: {describe_validation_error(exc)}", EXIT_CONFIG
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return f"configuration error: ORX_CONFIG is not valid YAML{where}", EXIT_CONFIG
    if isinstance(exc, httpx.TransportError):
        return f"cannot reach {_target(exc)}: {_connection_reason(exc)}", EXIT_FAILURE
    if isinstance(exc, OrchestrateXError):
        return f"{exc.message} ({exc.code})", EXIT_FAILURE
    message = str(exc).splitlines()[0] if str(exc) else ""
    detail = f": {message}" if message else ""
    return f"unexpected error: {type(exc).__name__}{detail} (use --debug for details)", EXIT_FAILURE


def fail(exc: BaseException, *, debug: bool) -> NoReturn:
    """Print `exc` as one line (plus its traceback with `debug`) and exit."""
    message, code = describe(exc)
    if debug:
        typer.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
    typer.echo(message, err=True)
    raise typer.Exit(code=code)


def run_command(work: Coroutine[Any, Any, T], *, debug: bool) -> T:
    """Run a command's coroutine; any failure becomes one line and an exit code."""
    try:
        return asyncio.run(work)
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        fail(exc, debug=debug)
