"""Prompt analysis on small hand-written prompts: domains, complexity, features, speed."""

from __future__ import annotations

import pytest

from orchestratex.core.types import Domain
from orchestratex.engine.analysis import SCAN_CHARS, analyze

CASES: list[tuple[str, Domain]] = [
    ("Write a Python function that reverses a linked list in place.", Domain.CODING),
    ("Fix the bug in this code:\n```js\nconst x = arr.map(v => v * 2);\n```", Domain.CODING),
    ("Implement a REST API endpoint in Java that returns a user's orders as JSON.", Domain.CODING),
    ("Write a poem about autumn leaves falling on a quiet lake.", Domain.CREATIVE),
    ("Compose a short story about a lighthouse keeper who befriends a whale.", Domain.CREATIVE),
    ("Pretend you are a pirate captain and greet your new crew.", Domain.CREATIVE),
    ("Solve for x: 3x^2 - 12x + 9 = 0.", Domain.MATH),
    ("Prove that the square root of 2 is irrational.", Domain.MATH),
    (
        "A shop sells pens for $3 each. Sam buys 7 pens and pays with $50. How much change?",
        Domain.MATH,
    ),
    ("Compute the integral of x * e^x from 0 to 1.", Domain.MATH),
    (
        "Compare the pros and cons of nuclear power versus wind power for national energy policy.",
        Domain.ANALYSIS,
    ),
    (
        "Analyze the argument that raising the minimum wage always increases unemployment.",
        Domain.ANALYSIS,
    ),
    (
        "Is the defendant liable for negligence if the contract was breached by the tenant?",
        Domain.ANALYSIS,
    ),
    ("What is the capital of Australia?", Domain.GENERAL),
    ("hi", Domain.GENERAL),
    ("Which vitamins are found in citrus fruit, and what do they do for the body?", Domain.GENERAL),
    # One unambiguous cue outweighs the general baseline.
    ("How do I center a div horizontally and vertically with CSS?", Domain.CODING),
    ("What does git rebase --onto do?", Domain.CODING),
    ("Invent a name and a slogan for a bakery that only sells sourdough.", Domain.CREATIVE),
    ("What is the probability of getting exactly two heads in five coin flips?", Domain.MATH),
    ("Should a city ban cars from its centre? Make a case either way.", Domain.ANALYSIS),
    ("What are the strongest arguments for and against a universal basic income?", Domain.ANALYSIS),
    # Word problems keep their numbers' domain.
    ("Her math books weigh 2 pounds each and the French book 4 pounds. Total weight?", Domain.MATH),
]


@pytest.mark.parametrize(("prompt", "expected"), CASES)
def test_domain_of_hand_written_prompts(prompt: str, expected: Domain) -> None:
    result = analyze(prompt)
    assert result.domain == expected, result.domain_scores


def test_scores_cover_every_domain_and_sum_to_one() -> None:
    result = analyze("Write a poem about the sea")
    assert set(result.domain_scores) == set(Domain)
    assert sum(result.domain_scores.values()) == pytest.approx(1.0, abs=1e-3)
    assert result.domain_scores[Domain.CREATIVE] == max(result.domain_scores.values())


def test_complexity_grows_with_a_long_multi_part_technical_prompt() -> None:
    hard = (
        "First, implement a thread-safe LRU cache in Python with O(1) get and put; it must "
        "support a TTL per key and should never exceed the memory limit. Then, write unit "
        "tests with pytest covering eviction, expiry and concurrent access. Finally, compare "
        "its runtime against functools.lru_cache and explain the trade-offs.\n"
        "1. What data structures do you use?\n2. How do you avoid lock contention?\n"
        "3. How does the hash map interact with the doubly linked list?\n"
        "```python\ndef get(self, key: str) -> object: ...\n```"
    )
    easy = analyze("hi")
    complex_ = analyze(hard)
    assert 0.0 <= easy.complexity < 0.15
    assert complex_.complexity > easy.complexity + 0.3
    assert complex_.domain == Domain.CODING


def test_features_are_reported() -> None:
    result = analyze("How many apples are left if Ann has 12 and eats 5? Explain why.")
    features = result.features
    for name in ("chars", "words", "numbers", "quantity_questions", "code_words", "complexity"):
        assert name in features
    assert features["numbers"] == 2.0
    assert features["quantity_questions"] == 1.0
    assert features["complexity"] == result.complexity
    assert result.elapsed_ms > 0.0


def test_deterministic() -> None:
    prompt = "Discuss the implications of inflation on monetary policy."
    first, second = analyze(prompt), analyze(prompt)
    assert first.model_dump(exclude={"elapsed_ms"}) == second.model_dump(exclude={"elapsed_ms"})


def test_huge_prompt_is_capped() -> None:
    """Only SCAN_CHARS characters are scanned (speed: `orchestratex bench analysis`)."""
    prompt = "Explain the economic impact of tariffs on trade. " * 2_100  # ~105,000 chars
    result = analyze(prompt)
    assert len(prompt) > SCAN_CHARS
    assert result.features["truncated"] == 1.0
    assert result.features["chars"] == float(len(prompt))
    assert result.domain == Domain.ANALYSIS
    scanned = analyze(prompt[:SCAN_CHARS])
    assert result.features["code_words"] == scanned.features["code_words"]
    assert result.features["economics_words"] == scanned.features["economics_words"]
