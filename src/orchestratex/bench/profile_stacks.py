"""Summaries of py-spy's raw (folded) stacks: own and total time per function and per module.

py-spy `record --format raw` writes one line per distinct stack: frames from the outermost to
the innermost, separated by `;`, then a space and the number of samples. A frame reads
`function (path/to/file.py:line)`; frames of another shape (process and thread names) are
skipped. Own time of a function = samples where it is the innermost frame; total time =
samples where it appears anywhere in the stack (counted once per sample, recursion aside).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?):\d+\)$")
_STDLIB = re.compile(r"/lib/python3\.\d+/")


@dataclass(frozen=True)
class Frame:
    function: str
    module: str
    """Dotted module path: `sqlalchemy.orm.session`, `stdlib.asyncio.base_events`."""

    @property
    def package(self) -> str:
        """The first two parts of the module (`sqlalchemy.orm`, `orchestratex.store`)."""
        return ".".join(self.module.split(".")[:2])


def module_of(path: str) -> str:
    """A dotted module name for a source path as py-spy prints it."""
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            path = path.rsplit(marker, 1)[1]
            break
    else:
        found = _STDLIB.search(path)
        path = "stdlib/" + path[found.end() :] if found else path.strip("/<>")
    path = path.removesuffix(".py").removesuffix("/__init__")
    return path.replace("/", ".") or "?"


def parse_frame(text: str) -> Frame | None:
    found = _FRAME.match(text.strip())
    if not found:
        return None
    return Frame(found.group("func"), module_of(found.group("file")))


@dataclass
class Profile:
    samples: int
    own: Counter[Frame]
    total: Counter[Frame]
    own_by_package: Counter[str]
    total_by_package: Counter[str]
    by_caller: Counter[str]
    """Samples per innermost frame of the project's own code (`module.function`)."""


NO_CALLER = "(no project frame: event loop, server, HTTP client)"
GREENLET = "(SQLAlchemy greenlet: store work whose caller is on another stack)"
IGNORED = ("orchestratex.bench.",)
"""Project frames that only run the event loop (the benchmark's service entry point)."""


def summarise(lines: Iterable[str], *, project: str = "orchestratex.") -> Profile:
    """Own and total sample counts per function and per package from raw py-spy lines.

    Each sample is also charged to the innermost frame whose module starts with `project`:
    which of the project's functions the time was spent for (library code included).
    """
    own: Counter[Frame] = Counter()
    total: Counter[Frame] = Counter()
    own_pkg: Counter[str] = Counter()
    total_pkg: Counter[str] = Counter()
    callers: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in (parse_frame(part) for part in stack.split(";")) if f is not None]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        own_pkg[frames[-1].package] += count
        for frame in set(frames):
            total[frame] += count
        for package in {f.package for f in frames}:
            total_pkg[package] += count
        ours = [
            f for f in frames if f.module.startswith(project) and not f.module.startswith(IGNORED)
        ]
        if ours:
            callers[f"{ours[-1].module}.{ours[-1].function}"] += count
        else:
            callers[GREENLET if frames[0].package.startswith("sqlalchemy") else NO_CALLER] += count
    return Profile(samples, own, total, own_pkg, total_pkg, callers)


def caller_table(profile: Profile, *, ms_per_sample: float, top: int = 20) -> list[str]:
    """Markdown rows: time charged to the project's own functions (innermost project frame)."""
    rows = ["| project function (innermost) | ms / request | share |", "| --- | --- | --- |"]
    for name, count in profile.by_caller.most_common(top):
        share = count / profile.samples if profile.samples else 0.0
        rows.append(f"| {name} | {count * ms_per_sample:.2f} | {share:.0%} |")
    return rows


def top_table(profile: Profile, *, ms_per_sample: float, top: int = 20) -> list[str]:
    """Markdown rows: the heaviest functions by own time, with their total time."""
    rows = [
        "| module | function | own ms / request | total ms / request |",
        "| --- | --- | --- | --- |",
    ]
    ranked = sorted(profile.own.items(), key=lambda item: (-item[1], item[0].function))
    for frame, count in ranked[:top]:
        rows.append(
            f"| {frame.module} | {frame.function} | {count * ms_per_sample:.2f} | "
            f"{profile.total[frame] * ms_per_sample:.2f} |"
        )
    return rows


def package_table(profile: Profile, *, ms_per_sample: float, top: int = 20) -> list[str]:
    """Markdown rows: time per package (first two module parts), own and total."""
    rows = [
        "| package | own ms / request | total ms / request | own share |",
        "| --- | --- | --- | --- |",
    ]
    ranked = sorted(profile.own_by_package.items(), key=lambda item: (-item[1], item[0]))
    for package, count in ranked[:top]:
        share = count / profile.samples if profile.samples else 0.0
        rows.append(
            f"| {package} | {count * ms_per_sample:.2f} | "
            f"{profile.total_by_package[package] * ms_per_sample:.2f} | {share:.0%} |"
        )
    return rows


def hot_paths(profile: Profile, names: Iterable[str], *, ms_per_sample: float) -> list[str]:
    """Total time of chosen functions (by name), for the findings: `name: x ms / request`."""
    wanted = set(names)
    sums: Counter[str] = Counter()
    for frame, count in profile.total.items():
        if frame.function in wanted:
            sums[f"{frame.module}.{frame.function}"] += count
    return [f"{name}: {count * ms_per_sample:.2f} ms" for name, count in sums.most_common()]


def layer_of(caller: str, project: str = "orchestratex.") -> str:
    """The project layer a caller belongs to; SQLAlchemy greenlets count as the store."""
    if caller == GREENLET:
        return "store"
    if caller == NO_CALLER or not caller.startswith(project):
        return "event loop, server, HTTP (no project frame)"
    return caller.removeprefix(project).split(".", 1)[0]


def layer_table(profile: Profile, *, ms_per_sample: float) -> list[str]:
    """Markdown rows: time per project layer (store, providers, engine, api, runtime, ...)."""
    layers: Counter[str] = Counter()
    for caller, count in profile.by_caller.items():
        layers[layer_of(caller)] += count
    rows = ["| layer | ms / request | share |", "| --- | --- | --- |"]
    for layer, count in layers.most_common():
        share = count / profile.samples if profile.samples else 0.0
        rows.append(f"| {layer} | {count * ms_per_sample:.2f} | {share:.0%} |")
    return rows
