"""Write src/orchestratex/engine/unicode_compat.py: where the reference tokenizer's Unicode tables
differ from this Python's `unicodedata` (run with a venv that has `tokenizers`, e.g.
`/tmp/venv-extra/bin/python scripts/minilm_unicode_table.py MODEL_DIR/tokenizer.json`).

Every code point but the surrogates is normalised, and split between two letters, by both the
reference (`tokenizers`) and engine/wordpiece.py's plain rules; the differences become the
tables (then `ruff format` the file).
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

from tokenizers import Tokenizer

from orchestratex.engine.wordpiece import plain_is_punctuation, plain_normalise

OUT = Path(__file__).resolve().parent.parent / "src/orchestratex/engine/unicode_compat.py"


def ranges(cps: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def fmt_ranges(name: str, cps: list[int]) -> str:
    rows = [f"    (0x{lo:04X}, 0x{hi:04X})," for lo, hi in ranges(cps)]
    return f"{name}: tuple[tuple[int, int], ...] = (\n" + "\n".join(rows) + "\n)\n"


def main(tokenizer_json: str) -> None:
    tok = Tokenizer.from_file(tokenizer_json)
    norm, pre = tok.normalizer, tok.pre_tokenizer
    assert norm is not None and pre is not None
    kept: list[int] = []
    mapped: dict[int, str] = {}
    not_punct: list[int] = []
    extra_punct: list[int] = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        ref = norm.normalize_str(ch)
        if ref != plain_normalise(ch):
            if ref == ch:
                kept.append(cp)
            else:
                mapped[cp] = ref
        if ch.isspace():
            continue
        ref_punct = len(pre.pre_tokenize_str(f"a{ch}a")) == 3
        if ref_punct != plain_is_punctuation(ch):
            (extra_punct if ref_punct else not_punct).append(cp)
    body = [
        '"""Characters whose Unicode data changed between the reference tokenizer\'s tables and\n'
        f"Python's unicodedata {unicodedata.unidata_version}"
        " (written by scripts/minilm_unicode_table.py; do not edit).\n\n"
        "NORMALISED: the reference's normalised text of each character that plain rules would\n"
        "normalise otherwise (marks and format characters newer than its tables are kept,\n"
        "letters newer than Python's are lower-cased, ...). NOT_PUNCTUATION /\n"
        "EXTRA_PUNCTUATION: characters the reference does not / does split off as punctuation,\n"
        "against Python's categories.\n"
        '"""\n',
        "from __future__ import annotations\n",
        fmt_ranges("_KEPT", kept),
        "_MAPPED: dict[int, str] = {\n"
        + "".join(f"    0x{cp:04X}: {ref!a},\n" for cp, ref in sorted(mapped.items()))
        + "}\n",
        fmt_ranges("_NOT_PUNCTUATION", not_punct),
        fmt_ranges("_EXTRA_PUNCTUATION", extra_punct),
        "\ndef _chars(spans: tuple[tuple[int, int], ...]) -> frozenset[str]:\n"
        "    return frozenset(chr(cp) for lo, hi in spans for cp in range(lo, hi + 1))\n",
        "\nNORMALISED: dict[str, str] = {ch: ch for ch in _chars(_KEPT)} | {\n"
        "    chr(cp): text for cp, text in _MAPPED.items()\n}\n"
        "NOT_PUNCTUATION = _chars(_NOT_PUNCTUATION)\n"
        "EXTRA_PUNCTUATION = _chars(_EXTRA_PUNCTUATION)\n",
    ]
    OUT.write_text("\n".join(body), encoding="utf-8")
    print(
        f"{OUT}: {len(kept)} kept, {len(mapped)} mapped, {len(not_punct)} not punctuation, "
        f"{len(extra_punct)} extra punctuation"
    )


if __name__ == "__main__":
    main(sys.argv[1])
