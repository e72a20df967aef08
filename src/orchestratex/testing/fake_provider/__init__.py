"""A fake LLM provider server speaking the OpenAI and Anthropic wire protocols (a test tool).

Its answers are fixed text that says it comes from a test tool; it can inject faults.
"""

from orchestratex.testing.fake_provider.options import FakeProviderOptions, FakeStats, FaultKind
from orchestratex.testing.fake_provider.server import FakeProviderServer, run_fake_provider

__all__ = [
    "FakeProviderOptions",
    "FakeProviderServer",
    "FakeStats",
    "FaultKind",
    "run_fake_provider",
]
