"""BERT's uncased WordPiece tokeniser, read from a `vocab.txt` (one word piece a line, id = line).

The same steps as the Hugging Face `tokenizers` BERT pipeline that all-MiniLM-L6-v2 ships in
its tokenizer.json, so the ids are equal (the routing benchmark's prompts and a fuzz set were
checked against it, docs/benchmarks.md):

1. the special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]) written in the text itself are kept
   as their ids, matched before any normalisation;
2. normalise: drop NUL, U+FFFD and control characters (categories Cc, Cf, Co, Cs; tab, newline
   and carriage return count as white space), turn white space into a space, put spaces around
   CJK ideographs, decompose (NFD) and drop nonspacing marks (Mn), lower-case char by char;
3. split on white space, and each punctuation character on its own;
4. each word greedily into the longest pieces in the vocabulary (continuations "##"); a word of
   more than MAX_WORD_CHARS characters, or one that cannot be split, is [UNK].
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from orchestratex.engine.unicode_compat import EXTRA_PUNCTUATION, NORMALISED, NOT_PUNCTUATION

MAX_WORD_CHARS = 100
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SPECIAL_RE = re.compile("|".join(re.escape(s) for s in SPECIALS))
CONTROL = frozenset({"Cc", "Cf", "Co", "Cs"})
KEEP = frozenset("\t\n\r")
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Unicode's White_Space property (what the reference tokenizer splits on)."""
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),  # sic: the reference starts here, not at 0x2B820
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def plain_is_punctuation(ch: str) -> bool:
    """ASCII punctuation, or a character Python's Unicode tables put in a P category."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_punctuation(ch: str) -> bool:
    if ch in NOT_PUNCTUATION:
        return False
    return ch in EXTRA_PUNCTUATION or plain_is_punctuation(ch)


def _is_dropped(ch: str) -> bool:
    if ch in KEEP:
        return False
    return ch == "\x00" or ch == "\ufffd" or unicodedata.category(ch) in CONTROL


def plain_normalise(text: str) -> str:
    """Step 2 by Python's Unicode tables."""
    out = []
    for ch in text:
        if _is_dropped(ch):
            continue
        if ch in WHITE_SPACE:
            out.append(" ")
        elif _is_cjk(ord(ch)):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    decomposed = unicodedata.normalize("NFD", "".join(out))
    return "".join(ch.lower() for ch in decomposed if unicodedata.category(ch) != "Mn")


_NORMALISED_RE = re.compile(
    "([" + "".join(re.escape(ch) for ch in sorted(NORMALISED)) + "])" if NORMALISED else "(?!)"
)


def normalise(text: str) -> str:
    """Step 2: the text as the word splitter sees it (the characters whose Unicode data changed
    since the reference's tables are mapped as the reference maps them)."""
    parts = _NORMALISED_RE.split(text)
    if len(parts) == 1:
        return plain_normalise(text)
    # split() with a group alternates: plain text, a listed character, plain text, ...
    return "".join(
        NORMALISED[part] if i % 2 else plain_normalise(part) for i, part in enumerate(parts)
    )


def split_words(text: str) -> list[str]:
    """Step 3 on normalised text: white-space separated words, punctuation on its own."""
    words: list[str] = []
    for chunk in text.split(" "):
        start = 0
        for i, ch in enumerate(chunk):
            if _is_punctuation(ch):
                if i > start:
                    words.append(chunk[start:i])
                words.append(ch)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


class WordPiece:
    """Text to token ids: [CLS], the pieces (at most `max_tokens` - 2), [SEP]."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        self.unk = vocab["[UNK]"]
        self.cls = vocab["[CLS]"]
        self.sep = vocab["[SEP]"]
        self.pad = vocab["[PAD]"]
        self.longest = max(len(piece) for piece in vocab)

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls({piece: i for i, piece in enumerate(lines)})

    def word_ids(self, word: str) -> list[int]:
        """Step 4: the longest known piece first, then "##" continuations; else [UNK]."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids = []
        start = 0
        while start < len(word):
            prefix = "##" if start else ""
            end = min(len(word), start + self.longest)
            while end > start and (prefix + word[start:end]) not in self.vocab:
                end -= 1
            if end == start:
                return [self.unk]
            ids.append(self.vocab[prefix + word[start:end]])
            start = end
        return ids

    def pieces(self, text: str, limit: int) -> list[int]:
        """The ids of the text's word pieces, stopping once `limit` are found."""
        ids: list[int] = []
        at = 0
        for match in [*SPECIAL_RE.finditer(text), None]:
            end = len(text) if match is None else match.start()
            for word in split_words(normalise(text[at:end])):
                ids.extend(self.word_ids(word))
                if len(ids) >= limit:
                    return ids[:limit]
            if match is not None:
                ids.append(self.vocab[match.group()])
                at = match.end()
        return ids[:limit]

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """[CLS] + word pieces + [SEP], truncated to `max_tokens` ids in all."""
        return [self.cls, *self.pieces(text, max_tokens - 2), self.sep]
