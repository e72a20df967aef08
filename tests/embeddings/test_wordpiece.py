"""The WordPiece tokeniser on a toy vocabulary: normalisation, splitting, pieces, truncation."""

from __future__ import annotations

from pathlib import Path

from orchestratex.engine.wordpiece import MAX_WORD_CHARS, WordPiece, normalise, split_words

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "aff", "a"]
VOCAB += ["##a", ",", "!", "cafe", "中", "b", "##b", "x", "##x", "unaff"]


def tok() -> WordPiece:
    return WordPiece({piece: i for i, piece in enumerate(VOCAB)})


def test_normalise_drops_controls_spaces_cjk_accents_and_case() -> None:
    assert normalise("Caf\u00e9\x00\u200b\ufffd") == "cafe"
    assert normalise("a\tb\nc\u3000d\u2028e") == "a b c d e"
    assert normalise("x中y") == "x 中 y"
    assert normalise("ΣΑΣ İ") == "σασ i"  # char by char: no final sigma; the dot is a mark
    assert normalise("\ue000") == ""  # private use is dropped like a control character


def test_split_words_isolates_punctuation() -> None:
    assert split_words("un,aff!  x$y") == ["un", ",", "aff", "!", "x", "$", "y"]
    assert split_words("a\u00b7b\uff01") == ["a", "\u00b7", "b", "\uff01"]


def test_longest_piece_first_and_unknown_words() -> None:
    t = tok()
    assert t.word_ids("unaffable") == [VOCAB.index("unaff"), VOCAB.index("##able")]
    assert t.word_ids("aaa") == [VOCAB.index("a"), VOCAB.index("##a"), VOCAB.index("##a")]
    assert t.word_ids("unz") == [t.unk]  # one piece missing: the whole word is unknown
    assert t.word_ids("x" * MAX_WORD_CHARS) == [VOCAB.index("x")] + [VOCAB.index("##x")] * 99
    assert t.word_ids("x" * (MAX_WORD_CHARS + 1)) == [t.unk]


def test_special_tokens_in_the_text_are_kept_before_normalising() -> None:
    t = tok()
    a, b, mask = VOCAB.index("a"), VOCAB.index("b"), VOCAB.index("[MASK]")
    # "[mask]" is plain text: "[", "mask" and "]" are words of their own, all unknown here.
    assert t.encode("a[MASK]b [mask] [UNK]", 64) == [
        *(t.cls, a, mask, b),
        *(t.unk, t.unk, t.unk),
        *(t.unk, t.sep),
    ]


def test_truncation_counts_the_special_tokens() -> None:
    t = tok()
    ids = t.encode("a " * 500, 128)
    assert len(ids) == 128 and ids[0] == t.cls and ids[-1] == t.sep
    assert t.encode("", 128) == [t.cls, t.sep] == t.encode(" \t\n", 128)


def test_reads_a_vocab_file(tmp_path: Path) -> None:
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    assert WordPiece.from_file(path).vocab == tok().vocab
