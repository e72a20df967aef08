"""Profile the service under sequential /v1 load with py-spy; print the top frames as Markdown.

Starts the fake provider (a test tool, answering at once) and the service as local processes
(bench/procs.py, the same setup as `orchestratex bench overhead`), warms the service up, then
for each path (a named catalog model, `orchestratex/auto`) attaches `py-spy record` to the
service process, sends `--requests` chat completions one after the other, and stops py-spy.
With `--gil` (the default) py-spy samples only the thread holding the GIL, so the samples add
up to the interpreter's busy time (threads waiting on a socket, a queue or a lock are left out;
C code that releases the GIL, such as SQLite's own work, is too). The tables give where that
time goes, in ms per request: own time (the function itself) and total time (with what it
calls), per function and per package. Raw stacks are kept in `--out`.

py-spy is a separate tool (`pip install py-spy`; it is not a project dependency):

    .venv/bin/python benchmarks/profile_service.py --requests 300 --out profile-out
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import time
from pathlib import Path

import httpx

from orchestratex.api.openai_schema import AUTO_MODEL
from orchestratex.bench import loadgen, procs
from orchestratex.bench.profile_stacks import (
    caller_table,
    hot_paths,
    layer_table,
    package_table,
    summarise,
    top_table,
)
from orchestratex.bench.service_probe import chat_body, fake_completions

NAMED_MODEL = "fake-gpt"
WATCHED = (
    "chat_completions",
    "handle",
    "_apply",
    "flush",
    "commit",
    "execute",
    "create",
    "analyze",
    "select_models",
    "run_orchestration",
)
"""Functions whose total time is listed under the tables (when they appear)."""


def find_py_spy(given: str | None) -> str:
    for candidate in (given, str(Path(sys.executable).parent / "py-spy"), shutil.which("py-spy")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("py-spy not found: `pip install py-spy` (or pass --py-spy PATH)")


def _send(url: str, model: str, index: int, stream: bool, headers: dict[str, str]) -> loadgen.Call:
    """The request of number `index`: a whole reply, or a streamed one read to its end."""
    body = chat_body(model, index, stream=stream)
    if stream:
        return loadgen.post_stream(url, body, headers=headers)
    return loadgen.post_json(url, body, headers=headers)


async def _profile_path(
    client: httpx.AsyncClient,
    fake: procs.Child,
    service: procs.Child,
    *,
    model: str,
    requests: int,
    rate: int,
    py_spy: str,
    raw: Path,
    gil: bool,
    stream: bool,
) -> dict[str, object]:
    args = [py_spy, "record", "--pid", str(service.pid), "--format", "raw", "--function"]
    args += ["--rate", str(rate), "--output", str(raw)]
    if gil:
        args.append("--gil")
    spy = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.sleep(1.0)  # py-spy attaches; nothing runs in the service meanwhile
    calls_before = await fake_completions(client, fake.url)
    cpu_before = procs.cpu_seconds(service.pid)
    url = service.url + "/v1/chat/completions"
    started = time.perf_counter()
    stats = await loadgen.run_concurrent(
        client,
        lambda c, i: _send(url, model, i, stream, service.headers)(c, i),
        concurrency=1,
        requests=requests,
    )
    wall = time.perf_counter() - started
    cpu = procs.cpu_seconds(service.pid) - cpu_before
    calls = await fake_completions(client, fake.url) - calls_before
    spy.send_signal(signal.SIGINT)
    _, err = await spy.communicate()
    if not await asyncio.to_thread(raw.is_file):
        raise SystemExit(f"py-spy wrote no profile: {err.decode(errors='replace')[-800:]}")
    return {
        "ok": stats.ok,
        "errors": stats.errors,
        "p50_ms": stats.p50_ms,
        "wall_s": round(wall, 2),
        "cpu_ms_per_request": round(cpu * 1000 / max(stats.ok, 1), 1),
        "upstream_calls_per_request": round(calls / max(stats.ok, 1), 2),
    }


def _report(model: str, facts: dict[str, object], raw: Path, *, rate: int, top: int) -> str:
    profile = summarise(raw.read_text().splitlines())
    requests = int(str(facts["ok"])) or 1
    ms_per_sample = 1000.0 / rate / requests
    busy = profile.samples * ms_per_sample
    lines = [
        f"### `{model}`: {facts['ok']} requests ({facts['errors']} errors), p50 "
        f"{facts['p50_ms']} ms, {facts['upstream_calls_per_request']} upstream calls/request, "
        f"service CPU {facts['cpu_ms_per_request']} ms/request; sampled busy time "
        f"{busy:.1f} ms/request ({profile.samples} samples at {rate} Hz)",
        "",
        *layer_table(profile, ms_per_sample=ms_per_sample),
        "",
        *top_table(profile, ms_per_sample=ms_per_sample, top=top),
        "",
        *package_table(profile, ms_per_sample=ms_per_sample, top=top),
        "",
        *caller_table(profile, ms_per_sample=ms_per_sample, top=top),
        "",
        "Total time of selected functions (ms/request): "
        + "; ".join(hot_paths(profile, WATCHED, ms_per_sample=ms_per_sample)),
        "",
    ]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    py_spy = find_py_spy(args.py_spy)
    out = Path(args.out)
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    machine = procs.machine_info()
    reports = [
        f"machine: {machine.cpu_model}, {machine.cores} cores, Python {machine.python}, "
        f"load average {machine.load_average[0]:.2f} (shared machine); service "
        + ("with an API key, sent on every request" if args.keyed else "in open mode (no key)"),
        "",
    ]
    with procs.scratch_dir() as where:
        async with (
            loadgen.make_client(4, timeout_s=120.0) as client,
            procs.fake_provider_process(0.0, where) as fake,
            procs.service_process(
                fake.url, where, requests_per_minute=10_000_000, keyed=args.keyed
            ) as service,
        ):
            url = service.url + "/v1/chat/completions"
            for model in (NAMED_MODEL, AUTO_MODEL):
                for i in range(args.warm_up):
                    await _send(url, model, i, args.stream, service.headers)(client, i)
            for model in (NAMED_MODEL, AUTO_MODEL):
                raw = out / f"{model.replace('/', '-')}.raw.txt"
                facts = await _profile_path(
                    client,
                    fake,
                    service,
                    model=model,
                    requests=args.requests,
                    rate=args.rate,
                    py_spy=py_spy,
                    raw=raw,
                    gil=args.gil,
                    stream=args.stream,
                )
                reports.append(_report(model, facts, raw, rate=args.rate, top=args.top))
    text = "\n".join(reports)
    (out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="Requests per path.")
    parser.add_argument("--warm-up", type=int, default=10, help="Unmeasured requests per path.")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second.")
    parser.add_argument("--top", type=int, default=20, help="Rows per table.")
    parser.add_argument("--out", default="profile-out", help="Folder for raw stacks.")
    parser.add_argument("--py-spy", default=None, help="The py-spy executable.")
    parser.add_argument(
        "--stream", action="store_true", help="Streamed replies (SSE), read to the end."
    )
    parser.add_argument(
        "--gil",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Sample only the thread holding the GIL (Python's busy time; the default).",
    )
    parser.add_argument(
        "--keyed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Give the service an API key and send it (--no-keyed: open mode, no key exists).",
    )
    asyncio.run(main(parser.parse_args()))
