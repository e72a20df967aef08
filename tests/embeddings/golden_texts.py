"""The texts whose token ids and vectors the reference fixed (`scripts/check_minilm_port.py
--golden` prints them; `test_golden.py` checks the port against them)."""

HAND = [
    "",
    " ",
    "\t\n  \r\n",
    "Café naïve façade — résumé, Ångström, São Paulo, Dvořák, Øresund",
    "İstanbul ΟΔΥΣΣΕΥΣ straße ǅungla ﬁnal Ⅻ ①",
    "中文分词测试：我爱北京天安门。日本語のテキスト、한국어 텍스트",
    "emoji 😀👍🏽👨‍👩‍👧 🇫🇷 ❤️ 🫠 🥰",
    "control\x00chars\x01here\x07\x1b[0m\x7f\u200b\u200d\ufeff\ufffd end",
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101 + " antidisestablishmentarianism",
    "def f(x: int) -> int:\n    return x ** 2  # square\nprint(f(3)); arr[i] = {'k': v}",
    "x [MASK] y [CLS]z [cls] [UNK][PAD] [SEP]",
    "हिन्दी नमस्ते, العربية مرحبا, עברית שלום, ไทย สวัสดี",
    "1,000,000.00 $5 ±3 ≤ ≥ → ← ∑∫√ 10⁻³ ½",
    "Math: $\\frac{a}{b}$ and \\(x^2\\) <b>html</b> &amp; http://x.y/z?q=1#f",
    "word " * 300,
    "\u2028line\u2029para\u00a0nbsp\u3000ideo\u1680ogham\u205fmath",
]
GOLDEN_PROMPTS = [
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
