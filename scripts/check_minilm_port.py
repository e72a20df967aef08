"""Check the numpy MiniLM port against the reference (tokenizers + sentence-transformers + torch).

Run with a venv that has the reference packages and this checkout's source first on the path:

    PYTHONPATH=src /tmp/venv-extra/bin/python scripts/check_minilm_port.py \
        --data ../shared/data/routellm [--json out.json] [--golden] [--ours-cache DIR]

Texts: every benchmark prompt the router embeds (bench/routing_data.load_all, first EMBED_CHARS
characters, deduplicated) plus a fuzz set (seeded). Checks (a) the port's token ids equal
`tokenizers`' (the package's tokenizer.json, truncation MAX_TOKENS) and sentence-transformers'
own tokenisation, and (b) the cosine of each vector with sentence-transformers'. `--golden`
prints the token ids and vector heads that tests/embeddings/test_golden.py keeps, for the texts in
tests/embeddings/golden_texts.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from orchestratex.bench.routing_data import load_all
from orchestratex.engine.embeddings import EMBED_CHARS, MAX_TOKENS, MiniLMEmbedder, model_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.embeddings.golden_texts import GOLDEN_PROMPTS, HAND

FUZZ_POOLS = [
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿŒœŠšŸƒ ̧̨̀́̂̃̈",
    "中国日本한국語漢字テスト𠀀𪜀𫠠𫤠",
    "😀😁😂🤣😃🏽🏻‍♂️🫠🥰🇺🇸",
    "\x00\x01\x02\x0b\x0c\x1c\x1f\x7f\x85\u200b\u200c\u200d\u2060\ufeff\ue000\ufffd",
    " \t\n\r\u00a0\u2003\u3000",
    "αβγΔΣσςЖжЯяאבגابت",
    "[CLS][SEP][PAD][UNK][MASK]",
]


def fuzz(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        length = rng.choice([1, 3, 10, 40, 200, 1200])
        pools = rng.sample(FUZZ_POOLS, rng.randint(1, 4))
        out.append("".join(rng.choice(rng.choice(pools)) for _ in range(length)))
    return out


def reference() -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    folder = model_folder()
    assert folder is not None
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    model = SentenceTransformer(str(folder), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return tok, model


def ours_from_cache(texts: list[str], cache: Path | None, embedder: MiniLMEmbedder) -> Any:
    """The port's vectors: from a `bench routing --cache-dir` cache when given (the port wrote
    them), the texts not in it embedded now."""
    if cache is None:
        return embedder.embed(texts)
    from orchestratex.bench.routing_embed_cache import cached_embeddings

    return cached_embeddings(texts, embedder, cache)


def check(texts: list[str], labels: list[str], cache: Path | None = None) -> dict[str, Any]:
    tok, model = reference()
    ours = MiniLMEmbedder()
    cut = [t[:EMBED_CHARS] for t in texts]
    mismatched = []
    for text, label in zip(cut, labels, strict=True):
        mine = ours.token_ids(text)
        ref = tok.encode(text).ids
        st = model.tokenize([text])["input_ids"][0].tolist()
        if not mine == ref == st:
            mismatched.append(
                {"label": label, "text": text[:80], "ours": mine[:20], "ref": ref[:20]}
            )
    started = time.perf_counter()
    ref_vec = model.encode(cut, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    ref_s = time.perf_counter() - started
    started = time.perf_counter()
    our_vec = ours_from_cache(texts, cache, ours)
    our_s = time.perf_counter() - started
    cos = (ref_vec.astype(np.float64) * our_vec).sum(axis=1) / np.linalg.norm(ref_vec, axis=1)
    worst = int(np.argmin(cos))
    return {
        "texts": len(texts),
        "token_mismatches": len(mismatched),
        "mismatch_examples": mismatched[:10],
        "min_cosine": float(cos.min()),
        "min_cosine_text": labels[worst],
        "max_abs_diff": float(np.abs(ref_vec - our_vec).max()),
        "reference_seconds": round(ref_s, 1),
        "numpy_seconds": round(our_s, 1),
    }


def golden() -> None:
    """The token ids of each HAND text and the first 8 numbers of each GOLDEN_PROMPTS vector,
    by the reference, as the Python literals IDS and FIRST_8 of test_golden.py."""
    tok, model = reference()
    for text in HAND:
        print(f"    {tok.encode(text[:EMBED_CHARS]).ids},")
    vec = model.encode(GOLDEN_PROMPTS, normalize_embeddings=True, convert_to_numpy=True)
    for row in vec:
        print(f"    {[round(float(x), 6) for x in row[:8]]},")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data/routellm"))
    ap.add_argument("--fuzz", type=int, default=500)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--golden", action="store_true")
    ap.add_argument("--ours-cache", type=Path, help="the port's vectors from this bench cache")
    args = ap.parse_args()
    print("port from", sys.modules[MiniLMEmbedder.__module__].__file__, file=sys.stderr)
    if args.golden:
        golden()
        return
    sets = load_all(args.data)
    prompts = sorted({it.prompt[:EMBED_CHARS] for s in sets.values() for it in s.items})
    result = {
        "benchmark": check(prompts, [f"prompt {i}" for i in range(len(prompts))], args.ours_cache),
        "fuzz": check(
            HAND + fuzz(args.fuzz, 0), [f"fuzz {i}" for i in range(len(HAND) + args.fuzz)]
        ),
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
