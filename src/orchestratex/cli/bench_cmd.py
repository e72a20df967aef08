"""`orchestratex bench ...`: offline benchmarks of engine components and of the service."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from orchestratex.bench.analysis_bench import format_report, run_analysis_bench
from orchestratex.bench.analysis_set import DEFAULT_DATA_DIR
from orchestratex.bench.cascade_unsure import DEFAULT_BANDS, format_unsure, run_unsure
from orchestratex.bench.memory_bench import MemoryResult, format_memory, measure_memory
from orchestratex.bench.orchestrate_check import ConcurrencyResult, check_concurrent_orchestrations
from orchestratex.bench.orchestrate_check import format_result as format_concurrency
from orchestratex.bench.overhead import NAMED_MODEL, fake_model, run_overhead_bench
from orchestratex.bench.overhead_table import format_report as format_overhead_report
from orchestratex.bench.procs import scratch_dir
from orchestratex.bench.routing_bench import run_routing_bench, write_scores
from orchestratex.bench.routing_cascade import format_cascade, run_cascade
from orchestratex.bench.routing_data import load_all
from orchestratex.bench.routing_grouped import DEFAULT_FOLDS
from orchestratex.bench.routing_replay import DEFAULT_RETRAIN_EVERY, format_replay, run_replay
from orchestratex.bench.routing_report import format_report as format_routing_report
from orchestratex.bench.routing_unseen import (
    DEFAULT_DRAWS,
    DEFAULT_HELD_OUT,
    format_unseen,
    run_unseen_bench,
)
from orchestratex.engine.embeddings import default_embedder

DataOption = Annotated[
    Path, typer.Option("--data", help="RouteLLM data folder (see its README.md).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
EmbeddingsOption = Annotated[
    bool,
    typer.Option(
        "--embeddings/--no-embeddings",
        help="Use sentence embeddings when the 'embeddings' extra is installed.",
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Embedding cache (default ~/.cache/orchestratex)."),
]
"""Options several bench commands share, spelled once."""

bench = typer.Typer(help="Offline benchmarks on recorded public data.", no_args_is_help=True)


@bench.command("analysis")
def analysis(
    data: DataOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Accuracy (overall, per source, per domain, confusion) and speed of prompt analysis."""
    try:
        report = run_analysis_bench(data)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))


@bench.command("routing")
def routing(
    data: DataOption = DEFAULT_DATA_DIR,
    test_data: Annotated[
        Path | None,
        typer.Option("--test-data", help="Train on all of --data, evaluate on all of this."),
    ] = None,
    as_json: JsonOption = False,
    scores_out: Annotated[
        Path | None,
        typer.Option("--scores-out", help="Write one JSON line per test prompt with its score."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and the training.")] = 0,
    save_router: Annotated[
        Path | None,
        typer.Option(
            "--save-router",
            help="Write the trained router (JSON) to this file, for the `router_path` setting.",
        ),
    ] = None,
    embeddings: EmbeddingsOption = True,
    cache_dir: CacheDirOption = None,
    folds: Annotated[
        int, typer.Option("--folds", min=2, help="Folds of MMLU subjects (grouped CV).")
    ] = DEFAULT_FOLDS,
    compare_hashed: Annotated[
        bool,
        typer.Option("--compare-hashed", help="Also train and measure the hashed-word router."),
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", hidden=True, help="First N prompts per benchmark.")
    ] = None,
) -> None:
    """Learned strong/weak router vs random, weak, strong and oracle: APGR and CPT, grouped by
    MMLU subject (the headline) and on a random split."""
    try:
        report, lines = run_routing_bench(
            data,
            test_data=test_data,
            seed=seed,
            limit=limit,
            save_router=save_router,
            embeddings=embeddings,
            cache_dir=cache_dir,
            folds=folds,
            compare_hashed=compare_hashed,
        )
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if scores_out is not None:
        write_scores(lines, scores_out)
    typer.echo(report.model_dump_json(indent=2) if as_json else format_routing_report(report))


@bench.command("routing-unseen")
def routing_unseen(
    data: DataOption = DEFAULT_DATA_DIR,
    draws: Annotated[
        int, typer.Option("--draws", min=1, help="Seeded draws of held-out subjects.")
    ] = DEFAULT_DRAWS,
    held_out: Annotated[
        int, typer.Option("--held-out", min=1, help="MMLU subjects held out in each draw.")
    ] = DEFAULT_HELD_OUT,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws and the training.")] = 0,
    embeddings: EmbeddingsOption = True,
    cache_dir: CacheDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """The router on MMLU subjects it never saw: many seeded draws of held-out subjects, each
    trained on everything else; mean, worst draw and spread of APGR."""
    try:
        result = run_unseen_bench(
            data, draws=draws, k=held_out, seed=seed, embeddings=embeddings, cache_dir=cache_dir
        )
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(result.model_dump_json(indent=2) if as_json else format_unseen(result))


@bench.command("routing-replay")
def routing_replay(
    data: DataOption = DEFAULT_DATA_DIR,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the arrival order.")] = 0,
    limit: Annotated[
        int | None, typer.Option("--limit", min=10, help="Replay only the first N prompts.")
    ] = 3000,
    retrain_every: Annotated[
        int, typer.Option("--retrain-every", min=1, help="Prompts between retrainings.")
    ] = DEFAULT_RETRAIN_EVERY,
    embeddings: Annotated[
        bool,
        typer.Option("--embeddings/--no-embeddings", help="Learned model reads embeddings too."),
    ] = True,
    cache_dir: CacheDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Learned selection vs the priors alone, replayed as a live deployment: quality per cost."""
    try:
        sets = load_all(data)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    report = run_replay(
        [it for s in sets.values() for it in s.items],
        seed=seed,
        limit=limit,
        retrain_every=retrain_every,
        embedder=default_embedder() if embeddings else None,
        cache_dir=cache_dir,
    )
    typer.echo(report.model_dump_json(indent=2) if as_json else format_replay(report))


@bench.command("routing-cascade")
def routing_cascade(
    data: DataOption = DEFAULT_DATA_DIR,
    as_json: JsonOption = False,
) -> None:
    """Weak model first, escalate on the verdict: APGR on MT-Bench and GSM8K (upper bound)."""
    try:
        results = run_cascade(load_all(data))
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in results], indent=2))
    else:
        typer.echo(format_cascade(results))


@bench.command("cascade-unsure")
def cascade_unsure(
    data: DataOption = DEFAULT_DATA_DIR,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and the training.")] = 0,
    band: Annotated[
        list[float] | None,
        typer.Option("--band", min=0.0, max=0.5, help="Cascade band(s) (default 0.05 0.1 0.2)."),
    ] = None,
    show: Annotated[
        float | None,
        typer.Option(
            "--show", min=0.0, max=0.5, help="The band the table shows (default: the middle one)."
        ),
    ] = None,
    embeddings: Annotated[
        bool,
        typer.Option(
            "--embeddings/--no-embeddings",
            help="Router on sentence embeddings when the 'embeddings' extra is installed.",
        ),
    ] = True,
    cache_dir: CacheDirOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", hidden=True, help="First N prompts per benchmark.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start cheap when unsure (router band, escalate on the verdict) against the router
    alone, always weak and always strong, at each cost level: MT-Bench and GSM8K."""
    try:
        sets = load_all(data)
    except FileNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    bands = set(band or DEFAULT_BANDS) | ({show} if show is not None else set())
    report = run_unsure(
        sets,
        seed=seed,
        bands=tuple(sorted(bands)),
        embedder=default_embedder() if embeddings else None,
        cache_dir=cache_dir,
        limit=limit,
    )
    typer.echo(report.model_dump_json(indent=2) if as_json else format_unsure(report, show))


@bench.command("overhead")
def overhead(
    as_json: JsonOption = False,
    requests: Annotated[
        int, typer.Option("--requests", min=1, help="Requests per path at concurrency 1.")
    ] = 200,
    blocks: Annotated[
        int, typer.Option("--blocks", min=1, help="Alternating blocks the requests are cut in.")
    ] = 4,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Concurrency of the throughput phase.")
    ] = 16,
    throughput_s: Annotated[
        float, typer.Option("--throughput-s", min=0.1, help="Seconds of throughput per path.")
    ] = 15.0,
    litellm: Annotated[
        bool, typer.Option("--litellm/--no-litellm", help="Measure the LiteLLM proxy too.")
    ] = True,
    litellm_venv: Annotated[
        Path | None,
        typer.Option("--litellm-venv", help="Its virtual environment (created on first use)."),
    ] = None,
    keyed: Annotated[
        bool,
        typer.Option(
            "--keyed/--open-mode",
            help="Give the service an API key and send it (else open mode: no key exists).",
        ),
    ] = True,
    stream: Annotated[
        bool, typer.Option("--stream", help="Streamed replies (SSE, read to the end).")
    ] = False,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Fake catalog model of the named path (fake-claude: the Anthropic protocol).",
        ),
    ] = NAMED_MODEL,
) -> None:
    """Added latency, CPU and throughput of /v1 (named model, auto) against the LiteLLM proxy.

    Starts the fake provider (a test tool), the service and the LiteLLM proxy (installed on
    first use in its own virtual environment) as local processes on loopback.
    """
    try:
        fake_model(model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from None
    report = asyncio.run(
        run_overhead_bench(
            requests=requests,
            blocks=blocks,
            throughput_concurrency=concurrency,
            throughput_s=throughput_s,
            litellm=litellm,
            litellm_venv=litellm_venv,
            keyed=keyed,
            stream=stream,
            model=model,
        )
    )
    typer.echo(report.model_dump_json(indent=2) if as_json else format_overhead_report(report))


@bench.command("concurrency")
def concurrency_check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Orchestrations sent at once.")] = 100,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", min=0, help="Fake provider delay per answer.")
    ] = 50.0,
    limit: Annotated[
        float, typer.Option("--limit", min=1, help="Seconds to wait for every run to end.")
    ] = 300.0,
) -> None:
    """Many POST /api/orchestrate/prompt at once on SQLite: errors, and whether all runs end.

    Exits 1 when a submission failed or a run did not reach a terminal status.
    """

    async def run() -> ConcurrencyResult:
        with scratch_dir() as where:
            return await check_concurrent_orchestrations(
                where, runs=runs, latency_ms=latency_ms, limit_s=limit
            )

    result = asyncio.run(run())
    typer.echo(result.model_dump_json(indent=2) if as_json else format_concurrency(result))
    if result.submit_errors or not result.all_terminal:
        raise typer.Exit(code=1)


@bench.command("memory")
def memory(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    runs: Annotated[
        int, typer.Option("--runs", min=1, help="Orchestrations started at once.")
    ] = 1000,
    latency_ms: Annotated[
        float,
        typer.Option(
            "--latency-ms",
            min=0,
            help="Fake provider delay per answer (long enough that every run's call stays open).",
        ),
    ] = 60_000.0,
    max_concurrent: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent",
            min=1,
            help="Cap each fake provider's calls open at once (runs past it wait their turn).",
        ),
    ] = None,
) -> None:
    """Service memory per 1,000 concurrent orchestrations (RSS growth / peak active runs)."""

    async def run() -> MemoryResult:
        with scratch_dir() as where:
            return await measure_memory(
                where,
                runs=runs,
                latency_ms=latency_ms,
                limit_s=60.0,
                max_concurrent=max_concurrent,
            )

    result = asyncio.run(run())
    typer.echo(result.model_dump_json(indent=2) if as_json else format_memory(result))
