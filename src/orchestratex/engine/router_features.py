"""The analysis features the learned models read: one explicit, named list, stored with each model.

`ROUTER_FEATURES` names every prompt-analysis feature (engine/analysis.py) that the strong/weak
routers (engine/router.py, engine/semantic_router.py) and the per-model quality model
(engine/learned_quality.py) are fitted on. A fitted model stores the names it was fitted with and
reads exactly those back, so a feature that analysis gains later (as the unambiguous-cue counts
of main's f0fa652 were) changes no trained or stored model, and a new feature reaches the models
only by being named here (and then measured: docs/benchmarks.md, Routing).

`SEMANTIC_FEATURES` is what the semantic router reads, with embeddings or without: that list,
then the vocabulary-rarity figures (`r:`, engine/rarity_features.py). The other models read
`ROUTER_FEATURES` alone.

`NUMBER_FEATURES` are counts of a word problem's numbers and steps, which a kind's expert may
read as well when its inner folds choose them (`RouterConfig.numbers`).

Names: `f:<feature>` for a raw count or measure of `Analysis.features`, `d:<domain>` for a
domain score, `complexity` for the complexity, `n:<count>` for a number-and-step count, `r:<part
and figure>` for a rarity figure. Every column is log-scaled (log1p) but the rarity figures,
which are on Zipf's log scale already or are shares and one length.
`f:complexity` and `complexity` are the same number twice; both were read when the list was
written down, and dropping one changes the ridge penalty on it, so the list keeps both (the
routers' figures are those of this exact list).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from orchestratex.engine.analysis import SCAN_CHARS, analyze
from orchestratex.engine.rarity_features import RARITY_FEATURES, rarity_features, zipf_table

FloatArray = npt.NDArray[np.float64]

ROUTER_FEATURES: tuple[str, ...] = (
    "complexity",
    "d:analysis",
    "d:coding",
    "d:creative",
    "d:general",
    "d:math",
    "f:analysis_task",
    "f:analysis_words",
    "f:arithmetic",
    "f:chars",
    "f:choices",
    "f:code_fences",
    "f:code_keywords",
    "f:code_line_ends",
    "f:code_object",
    "f:code_task",
    "f:code_tokens",
    "f:code_verb",
    "f:code_words",
    "f:complexity",
    "f:constraints",
    "f:creative_object",
    "f:creative_task",
    "f:creative_verb",
    "f:creative_words",
    "f:currency",
    "f:economics_words",
    "f:enumerations",
    "f:ethics_words",
    "f:fact_questions",
    "f:find_verb",
    "f:inline_code",
    "f:knowledge_words",
    "f:law_words",
    "f:logic_symbols",
    "f:math_object",
    "f:math_symbols",
    "f:math_task",
    "f:math_words",
    "f:multistep",
    "f:number_words",
    "f:numbers",
    "f:policy_words",
    "f:quantity_questions",
    "f:quantity_words",
    "f:questions",
    "f:role_object",
    "f:role_verb",
    "f:roleplay",
    "f:technical_density",
    "f:truncated",
    "f:words",
)
"""Sorted, so that a model fitted on it has the column order models had when it was written.
Analysis computes more (`code_strong`, `math_strong`, `creative_strong`, `analysis_strong`,
`judgment_questions`: counts for everyday prompts' domain, whose domain scores are read): with
them, the analysis-only router's out-of-fold calibration on its training half came out
backwards and it gave every prompt its prior (docs/benchmarks.md, Routing)."""


SEMANTIC_FEATURES: tuple[str, ...] = ROUTER_FEATURES + RARITY_FEATURES
"""The semantic router's analysis features (beside the embeddings, when it reads them): with the
rarity figures it gained on MMLU subjects it never saw (docs/benchmarks.md, Routing). A stored
router fitted before them keeps its own names and reads exactly those."""


_RARITY_NAMES = frozenset(RARITY_FEATURES)


NUMBER_FEATURES: tuple[str, ...] = (
    "n:numbers",
    "n:distinct_numbers",
    "n:largest_log",
    "n:decimals",
    "n:slashes",
    "n:percents",
    "n:sentences",
    "n:numbers_per_sentence",
    "n:comparisons",
    "n:words",
)
"""The number-and-step counts of a word problem (`number_features`). Read only by a kind's
expert whose setting says so (`RouterConfig.numbers`, chosen on its inner folds), never by the
pooled model or the gate: read by every model, they lowered the random-split MMLU figure
(docs/benchmarks.md, Routing)."""


_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCE_END_RE = re.compile(r"[.!?]+\s")
_COMPARISON_RE = re.compile(r"\b(?:more|less|fewer|times|twice|half|than|each|per|every)\b")


def number_features(prompt: str) -> dict[str, float]:
    """Counts of the numbers and steps of a word problem (`n:` names), from the scanned span."""
    text = prompt[:SCAN_CHARS]
    found = _NUMBER_RE.findall(text)
    values = [float(n.replace(",", "")) for n in found]
    sentences = sum(1 for s in _SENTENCE_END_RE.split(text) if s.strip())
    return {
        "n:numbers": float(len(values)),
        "n:distinct_numbers": float(len(set(values))),
        "n:largest_log": math.log1p(max(values, default=0.0)),
        "n:decimals": float(sum("." in n for n in found)),
        "n:slashes": float(text.count("/")),
        "n:percents": float(text.count("%") + text.lower().count("percent")),
        "n:sentences": float(sentences),
        "n:numbers_per_sentence": len(values) / max(sentences, 1),
        "n:comparisons": float(len(_COMPARISON_RE.findall(text.lower()))),
        "n:words": float(len(text.split())),
    }


def analysis_features(prompt: str, *, rarity: bool = True) -> dict[str, float]:
    """Every feature a router can read, by name: analysis's raw counts (`f:`), per-domain scores
    (`d:`) and complexity, the number-and-step counts (`n:`) and, unless `rarity` is false, the
    vocabulary-rarity figures (`r:`)."""
    result = analyze(prompt)
    out = {f"f:{k}": v for k, v in result.features.items()}
    out.update({f"d:{d.value}": v for d, v in result.domain_scores.items()})
    out["complexity"] = result.complexity
    out.update(number_features(prompt))
    if rarity:
        out.update(rarity_features(prompt))
    return out


def analysis_matrix(
    prompts: Sequence[str], names: Sequence[str] = ROUTER_FEATURES
) -> tuple[list[str], FloatArray]:
    """Analysis features of each prompt, one column per name in `names` order, log-scaled but
    the rarity figures (which are computed only when a name asks for one).

    ValueError when a name is not an analysis feature (a stored model from a version whose
    analysis computed a feature this one does not)."""
    cols = list(names)
    unscaled = np.asarray([c in _RARITY_NAMES for c in cols], dtype=bool)
    rarity = bool(unscaled.any())
    raw = np.zeros((len(prompts), len(cols)), dtype=np.float64)
    for r, prompt in enumerate(prompts):
        row = analysis_features(prompt, rarity=rarity)
        try:
            raw[r] = [row[c] for c in cols]
        except KeyError as missing:
            raise ValueError(f"analysis computes no feature named {missing}") from None
    out: FloatArray = np.where(unscaled, raw, np.log1p(np.maximum(raw, 0.0)))
    return cols, out


def check_names(names: Sequence[str]) -> list[str]:
    """`names` as a list; ValueError (naming it) when one is not an analysis feature. A model
    loaded with rarity figures loads the word table here, not on its first prompt."""
    checked = analysis_matrix([""], names)[0]
    if _RARITY_NAMES.intersection(checked):
        zipf_table()
    return checked
