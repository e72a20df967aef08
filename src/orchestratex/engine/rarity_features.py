"""How common a prompt's words are in English: a difficulty signal that names no topic.

Each word's Zipf frequency (log10 of its uses per billion words) comes from PyPI `wordfreq`'s
English table, which ships inside its wheel (offline; loaded on first use and kept). A
multiple-choice prompt ("question", then lines "A. ...", "B. ...", then "Answer:") is measured
in two parts, the stem and the options; any other prompt is all stem. Per part: the mean Zipf,
its 10/25/50% quantiles, the share of words under Zipf 2, 3 and 4, the share absent from the
table (Zipf 0) and the longest word's length. A part without words reads the other part's
figures (the options of a prompt without options are its stem), so a missing part says
nothing. Words are runs of ASCII letters (an inner apostrophe kept) of two letters or more,
lowercased, from the first SCAN_CHARS characters, as analysis scans.

The routers read these as `r:` features (engine/router_features.py); docs/benchmarks.md
(Routing) has the paired figures that put them there.
"""

from __future__ import annotations

import math
import re
from functools import cache

from orchestratex.engine.analysis import SCAN_CHARS

STATS: tuple[str, ...] = ("mean", "q10", "q25", "q50", "lt2", "lt3", "lt4", "unknown", "longest")
PARTS: tuple[str, ...] = ("stem", "opt")
RARITY_FEATURES: tuple[str, ...] = tuple(f"r:{part}_{stat}" for part in PARTS for stat in STATS)
"""Stem figures, then options figures, each in STATS order."""

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_OPTION_RE = re.compile(r"^[ \t]*[A-J][.)][ \t]", re.MULTILINE)
_ANSWER_RE = re.compile(r"\n\s*Answer:\s*$")
_NO_WORDS: tuple[float, ...] = (5.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0)
"""The figures of a prompt with no word at all: about those of everyday English."""


@cache
def zipf_table() -> dict[str, float]:
    """Zipf frequency of each word of wordfreq's English table (about 320,000 words).

    wordfreq stores the table as buckets of words one centibel apart (bucket i: Zipf 9 - i/100);
    it is read once as such, one float per bucket, and wordfreq's own cached copy is dropped
    (the table adds about 40 MB to the process, not twice that)."""
    import wordfreq

    table: dict[str, float] = {}
    for index, bucket in enumerate(wordfreq.get_frequency_list("en")):
        zipf = 9.0 - index / 100.0
        table.update(dict.fromkeys(bucket, zipf))
    wordfreq.get_frequency_list.cache_clear()
    return table


def split_options(text: str) -> tuple[str, str]:
    """(stem, options) of a multiple-choice prompt, the option letters and the closing
    "Answer:" removed; (text, "") when it has fewer than two option lines."""
    text = _ANSWER_RE.sub("", text)
    found = list(_OPTION_RE.finditer(text))
    if len(found) < 2:
        return text, ""
    start = found[0].start()
    return text[:start], _OPTION_RE.sub(" ", text[start:])


def words_of(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower()) if len(w) >= 2]


def _quantile(ordered: list[float], q: float) -> float:
    """Linear-interpolation quantile of sorted values (numpy's default)."""
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _figures(words: list[str]) -> tuple[float, ...] | None:
    """One part's figures in STATS order; None when it has no words."""
    if not words:
        return None
    table = zipf_table()
    zipf = sorted(table.get(w, 0.0) for w in words)
    n = len(zipf)
    return (
        sum(zipf) / n,
        _quantile(zipf, 0.10),
        _quantile(zipf, 0.25),
        _quantile(zipf, 0.50),
        sum(z < 2.0 for z in zipf) / n,
        sum(z < 3.0 for z in zipf) / n,
        sum(z < 4.0 for z in zipf) / n,
        sum(z == 0.0 for z in zipf) / n,
        float(max(map(len, words))),
    )


def rarity_features(prompt: str) -> dict[str, float]:
    """The `r:` features of a prompt, by name (RARITY_FEATURES)."""
    stem_text, option_text = split_options(prompt[:SCAN_CHARS])
    stem_words, option_words = words_of(stem_text), words_of(option_text)
    whole = _figures(stem_words + option_words) or _NO_WORDS
    stem = _figures(stem_words) or whole
    options = _figures(option_words) or stem
    return dict(zip(RARITY_FEATURES, (*stem, *options), strict=True))
