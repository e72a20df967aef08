"""Prompt analysis: domain and complexity from cheap lexical features. No LLM call, no I/O.

One tokenising pass counts topic vocabularies and task cues (analysis_features.FAMILIES), a few
precompiled regexes count code, math and structure marks; weighted, saturated sums of those
counts give per-domain scores, and a separate weighted sum gives complexity.
"""

from __future__ import annotations

import math
import re
import time

from orchestratex.core.orchestration import Analysis
from orchestratex.core.types import Domain
from orchestratex.engine import analysis_features as fx

SCAN_CHARS = 6_000
"""Only the first SCAN_CHARS characters are scanned; length features use the whole prompt."""

GENERAL_BASELINE = 1.0
"""Score general starts with, so a prompt without cues is general."""

# Domain weight of each feature (word-family counts and pattern counts alike).
WEIGHTS: dict[str, dict[Domain, float]] = {
    "code_words": {Domain.CODING: 1.0},
    "code_keywords": {Domain.CODING: 1.0},
    "code_fences": {Domain.CODING: 3.0},
    "inline_code": {Domain.CODING: 0.8},
    "code_line_ends": {Domain.CODING: 1.0},
    "code_tokens": {Domain.CODING: 1.0},
    "code_task": {Domain.CODING: 2.5},
    "code_strong": {Domain.CODING: 1.5},
    "math_words": {Domain.MATH: 0.8},
    "numbers": {Domain.MATH: 0.6},
    "arithmetic": {Domain.MATH: 1.2},
    "math_symbols": {Domain.MATH: 1.2},
    "currency": {Domain.MATH: 0.8},
    "math_task": {Domain.MATH: 2.0},
    "math_strong": {Domain.MATH: 1.5},
    "quantity_questions": {Domain.MATH: 1.0},
    "creative_words": {Domain.CREATIVE: 1.0},
    "creative_task": {Domain.CREATIVE: 3.5},
    "roleplay": {Domain.CREATIVE: 2.5},
    "creative_strong": {Domain.CREATIVE: 1.5},
    "analysis_words": {Domain.ANALYSIS: 0.8},
    "law_words": {Domain.ANALYSIS: 0.7},
    "ethics_words": {Domain.ANALYSIS: 0.8},
    "economics_words": {Domain.ANALYSIS: 0.6},
    "policy_words": {Domain.ANALYSIS: 0.6},
    "analysis_task": {Domain.ANALYSIS: 1.5},
    "logic_symbols": {Domain.ANALYSIS: 1.5},
    "analysis_strong": {Domain.ANALYSIS: 1.5},
    "judgment_questions": {Domain.ANALYSIS: 1.5},
    "knowledge_words": {Domain.GENERAL: 0.8},
    "fact_questions": {Domain.GENERAL: 0.2},
}

_PATTERNS: dict[str, re.Pattern[str]] = {
    "code_fences": fx.CODE_FENCE_RE,
    "inline_code": fx.INLINE_CODE_RE,
    "code_line_ends": fx.CODE_LINE_END_RE,
    "code_tokens": fx.CODE_TOKEN_RE,
    "numbers": fx.NUMBER_RE,
    "arithmetic": fx.ARITH_RE,
    "math_symbols": fx.MATH_SYMBOL_RE,
    "currency": fx.CURRENCY_RE,
    "logic_symbols": fx.LOGIC_SYMBOL_RE,
    "questions": fx.QUESTION_RE,
    "judgment_questions": fx.JUDGMENT_RE,
    "enumerations": fx.ENUM_RE,
    "choices": fx.CHOICE_RE,
}

_TAGS: dict[str, tuple[str, ...]] = {}
for _family, _vocab in fx.FAMILIES.items():
    for _word in _vocab:
        _TAGS[_word] = (*_TAGS.get(_word, ()), _family)

_PAIR_VERBS = frozenset(rule[0] for rule in fx.PAIR_RULES)
_TECHNICAL = ("code_words", "math_words", "law_words", "economics_words")
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))


def _saturate(count: float) -> float:
    """Diminishing returns: 0 -> 0, 1 -> 1, 3 -> 2, 7 -> 3."""
    return math.log2(1.0 + count)


def _tags_of(word: str) -> tuple[str, ...]:
    tags = _TAGS.get(word)
    if tags is not None:
        return tags
    if len(word) > 4:
        for suffix, repl in _SUFFIXES:
            if word.endswith(suffix):
                base = word[: -len(suffix)] + repl
                found = _TAGS.get(base) or (
                    _TAGS.get(base + "e") if suffix in ("ing", "ed") else None
                )
                if found:
                    return found
    return ()


def _hyphenate(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "-")


def _token_counts(lower: str) -> tuple[dict[str, float], int]:
    """Count word families and verb-object task cues in one pass over the tokens."""
    counts = dict.fromkeys(fx.FAMILIES, 0.0)
    for rule in fx.PAIR_RULES:
        counts[rule[3]] = counts.get(rule[3], 0.0)
    last_verb: dict[str, int] = {}
    words = fx.WORD_RE.findall(fx.PHRASE_RE.sub(_hyphenate, lower))
    for index, word in enumerate(words):
        tags = _tags_of(word)
        for tag in tags:
            counts[tag] += 1.0
        if not tags:
            continue
        for verb, obj, window, feature in fx.PAIR_RULES:
            if obj in tags and index - last_verb.get(verb, -1_000) <= window:
                counts[feature] += 1.0
                last_verb.pop(verb)
        for tag in tags:
            if tag in _PAIR_VERBS:
                last_verb[tag] = index
    return counts, len(words)


def extract_features(prompt: str) -> dict[str, float]:
    """The numeric features analysis uses, keyed by name."""
    text = prompt[:SCAN_CHARS]
    features, n_words = _token_counts(text.lower())
    for name, pattern in _PATTERNS.items():
        features[name] = float(len(pattern.findall(text)))
    technical = sum(features[name] for name in _TECHNICAL)
    truncated = len(prompt) > SCAN_CHARS
    features["chars"] = float(len(prompt))
    # Beyond the scanned text, words are extrapolated from the scanned part's density.
    features["words"] = float(n_words * len(prompt) / len(text) if truncated else n_words)
    features["technical_density"] = round(technical / max(n_words, 1), 4)
    features["truncated"] = 1.0 if truncated else 0.0
    return features


def domain_scores(features: dict[str, float]) -> dict[Domain, float]:
    """Per-domain scores from features, normalised to sum to 1."""
    raw = dict.fromkeys(Domain, 0.0)
    raw[Domain.GENERAL] = GENERAL_BASELINE
    for name, weights in WEIGHTS.items():
        value = features.get(name, 0.0)
        if value:
            for domain, weight in weights.items():
                raw[domain] += weight * _saturate(value)
    # Quantity words (total, each, cost, area...) are ordinary English unless numbers appear.
    if features.get("numbers", 0.0) + features.get("number_words", 0.0) >= 2:
        raw[Domain.MATH] += 0.6 * _saturate(features.get("quantity_words", 0.0))
    total = sum(raw.values())
    return {domain: round(value / total, 4) for domain, value in raw.items()}


def complexity_of(features: dict[str, float]) -> float:
    """Complexity 0..1 from length, parts, constraints, steps, vocabulary and notation."""
    length = min(math.log10(1.0 + features["chars"]) / 4.0, 1.0)  # 10,000 chars -> 1.0
    parts = min((features["questions"] + features["enumerations"]) / 6.0, 1.0)
    constraints = min(features["constraints"] / 5.0, 1.0)
    steps = min(features["multistep"] / 5.0, 1.0)
    technical = min(features["technical_density"] * 5.0, 1.0)
    marks = features["math_symbols"] + features["arithmetic"] + features["code_tokens"]
    notation = min(marks / 8.0, 1.0)
    fences = 1.0 if features["code_fences"] else 0.0
    tiny = 0.5 if features["words"] < 4 else 1.0
    score = tiny * (
        0.30 * length
        + 0.15 * parts
        + 0.15 * constraints
        + 0.10 * steps
        + 0.15 * technical
        + 0.10 * notation
        + 0.05 * fences
    )
    return round(min(max(score, 0.0), 1.0), 4)


def analyze(prompt: str) -> Analysis:
    """Classify ``prompt`` into a domain and rate its complexity 0..1, deterministically."""
    started = time.perf_counter()
    features = extract_features(prompt)
    scores = domain_scores(features)
    domain = max(scores, key=lambda d: (scores[d], d is Domain.GENERAL))
    complexity = complexity_of(features)
    features["complexity"] = complexity
    return Analysis(
        domain=domain,
        complexity=complexity,
        domain_scores=scores,
        features=features,
        elapsed_ms=(time.perf_counter() - started) * 1000.0,
    )
