"""Golden values from the reference (tokenizers 0.23.3 / sentence-transformers 6.2 / torch 2.13, on
2026-12-07, `scripts/check_minilm_port.py --golden`): the numpy port must keep giving the same
token ids and vectors. Skipped when the weights package (the `embeddings` extra) is absent."""

from __future__ import annotations

import numpy as np
import pytest

from orchestratex.engine.embeddings import MiniLMEmbedder, embeddings_available

pytestmark = pytest.mark.skipif(
    not embeddings_available(), reason="the embeddings extra (weights package) is not installed"
)

TOKEN_IDS: list[tuple[str, list[int]]] = [
    ("", [101, 102]),
    (" ", [101, 102]),
    ("\t\n  \r\n", [101, 102]),
    (
        "Café naïve façade — résumé, Ångström, São Paulo, Dvořák, Øresund",
        [
            101,
            7668,
            15743,
            8508,
            1517,
            13746,
            1010,
            17076,
            15687,
            1010,
            7509,
            9094,
            1010,
            1040,
            14550,
            4817,
            1010,
            1100,
            6072,
            8630,
            102,
        ],
    ),
    (
        "İstanbul ΟΔΥΣΣΕΥΣ straße ǅungla ﬁnal Ⅻ ①",
        [
            101,
            9960,
            1169,
            29722,
            29735,
            29733,
            29733,
            29723,
            29735,
            29733,
            2358,
            27807,
            100,
            1984,
            12032,
            100,
            100,
            102,
        ],
    ),
    (
        "中文分词测试：我爱北京天安门。日本語のテキスト、한국어 텍스트",
        [
            101,
            1746,
            1861,
            1775,
            100,
            100,
            100,
            1993,
            1855,
            100,
            1781,
            1755,
            1811,
            1820,
            100,
            1636,
            1864,
            1876,
            1950,
            1671,
            30239,
            30227,
            30233,
            30240,
            1635,
            1469,
            30006,
            30021,
            29991,
            30014,
            30020,
            29999,
            30008,
            1467,
            30009,
            30020,
            29997,
            30017,
            30003,
            30017,
            102,
        ],
    ),
    (
        "emoji 😀👍🏽👨\u200d👩\u200d👧 🇫🇷 ❤️ 🫠 🥰",
        [101, 7861, 29147, 2072, 100, 100, 100, 100, 100, 102],
    ),
    (
        "control\x00chars\x01here\x07\x1b[0m\x7f\u200b\u200d\ufeff� end",
        [101, 2491, 7507, 2869, 5886, 2063, 1031, 1014, 2213, 2203, 102],
    ),
    (
        "a" * 99 + " " + "b" * 100 + " " + "c" * 101 + " antidisestablishmentarianism",
        [
            101,
            13360,
            *[11057] * 48,
            22861,
            *[10322] * 49,
            100,
            3424,
            10521,
            4355,
            7875,
            13602,
            3672,
            12199,
            2964,
            102,
        ],
    ),
    (
        "def f(x: int) -> int:\n    return x ** 2  # square\nprint(f(3)); arr[i] = {'k': v}",
        [
            101,
            13366,
            1042,
            1006,
            1060,
            1024,
            20014,
            1007,
            1011,
            1028,
            20014,
            1024,
            2709,
            1060,
            1008,
            1008,
            1016,
            1001,
            2675,
            6140,
            1006,
            1042,
            1006,
            1017,
            1007,
            1007,
            1025,
            12098,
            2099,
            1031,
            1045,
            1033,
            1027,
            1063,
            1005,
            1047,
            1005,
            1024,
            1058,
            1065,
            102,
        ],
    ),
    (
        "x [MASK] y [CLS]z [cls] [UNK][PAD] [SEP]",
        [101, 1060, 103, 1061, 101, 1062, 1031, 18856, 2015, 1033, 100, 0, 102, 102],
    ),
    (
        "हिन्दी नमस्ते, العربية مرحبا, עברית שלום, ไทย สวัสดี",
        [
            101,
            1339,
            29877,
            29863,
            29861,
            29878,
            1327,
            29867,
            29874,
            29859,
            1010,
            1270,
            23673,
            29830,
            17149,
            29816,
            14498,
            19433,
            1295,
            17149,
            29820,
            29816,
            25573,
            1010,
            1259,
            29789,
            29811,
            29796,
            29813,
            1266,
            29799,
            29792,
            29800,
            1010,
            100,
            100,
            102,
        ],
    ),
    (
        "1,000,000.00 $5 ±3 ≤ ≥ → ← ∑∫√ 10⁻³ ½",
        [
            101,
            1015,
            1010,
            2199,
            1010,
            2199,
            1012,
            4002,
            1002,
            1019,
            1081,
            2509,
            1608,
            1609,
            1585,
            1583,
            100,
            2184,
            30079,
            18107,
            1092,
            102,
        ],
    ),
    (
        "Math: $\\frac{a}{b}$ and \\(x^2\\) <b>html</b> &amp; http://x.y/z?q=1#f",
        [
            101,
            8785,
            1024,
            1002,
            1032,
            25312,
            2278,
            1063,
            1037,
            1065,
            1063,
            1038,
            1065,
            1002,
            1998,
            1032,
            1006,
            1060,
            1034,
            1016,
            1032,
            1007,
            1026,
            1038,
            1028,
            16129,
            1026,
            1013,
            1038,
            1028,
            1004,
            23713,
            1025,
            8299,
            1024,
            1013,
            1013,
            1060,
            1012,
            1061,
            1013,
            1062,
            1029,
            1053,
            1027,
            1015,
            1001,
            1042,
            102,
        ],
    ),
    ("word " * 300, [101, *[2773] * 126, 102]),  # cut to 128 ids, [SEP] last
    (
        "\u2028line\u2029para\xa0nbsp\u3000ideo\u1680ogham\u205fmath",
        [101, 2240, 11498, 1050, 5910, 2361, 8909, 8780, 13958, 3511, 8785, 102],
    ),
]

PROMPTS = [
    "What is the capital of France?",
    "Ann buys 3 boxes of 12 pencils and gives away 7. How many pencils does she have left?",
    (
        "Our service keeps a write-ahead log on local disk and ships it to two replicas in "
        "other zones. After a power cut, one replica came back with entries the leader never "
        "acknowledged, and clients read a balance that was later rolled back. Explain which "
        "guarantees the design was missing, how a quorum commit rule would have prevented "
        "the stale read, and what the cost of that rule is in latency when one zone is slow. "
        "Then propose a test plan that injects crashes between the fsync of the log and the "
        "reply to the client, and say how you would tell from the test's output that the fix "
        "works, without relying on timing. Keep the answer under four hundred words, and use "
        "a table for the failure cases you would cover first."
    ),
]
FIRST_8 = [
    [0.082048, 0.036055, -0.003893, -0.004881, 0.025651, -0.057143, 0.012192, 0.004679],
    [0.005335, 0.006923, -0.016689, 0.001993, -0.079557, 0.01683, 0.083989, 0.014153],
    [0.026986, 0.057958, 0.025338, 0.028863, 0.030511, -0.052665, -0.065931, 0.022198],
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.mark.parametrize(("text", "ids"), TOKEN_IDS)
def test_token_ids_match_the_reference(embedder: MiniLMEmbedder, text: str, ids: list[int]) -> None:
    assert embedder.token_ids(text) == ids


def test_vectors_match_the_reference(embedder: MiniLMEmbedder) -> None:
    together = embedder.embed(PROMPTS)
    assert together.shape == (3, embedder.dim)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-6)
    # The reference printed 6 decimals; float32 rounding moves the port by about 3e-7.
    assert np.abs(together[:, :8] - np.asarray(FIRST_8)).max() < 2e-6
    alone = np.vstack([embedder.embed([p]) for p in PROMPTS])
    assert np.abs(alone - together).max() < 1e-6
