"""Token counts of the replayed models, from their real tokenizers (bundled data, no download).

- GPT-4 (`gpt-4-1106-preview`) and the recorded judge: OpenAI's `cl100k_base` BPE from the
  `bpe-openai` package (tiktoken-compatible); chat input is counted the way OpenAI documents for
  GPT-4 chat models: 3 tokens per message, its role and content, and 3 to prime the reply.
- Mixtral 8x7B Instruct (`mixtral-8x7b-instruct-v0.1`): Mistral's v1 SentencePiece tokenizer
  shipped in `mistral-common`; chat input is the whole `[INST] ... [/INST]` prompt it encodes.

Loading takes a fraction of a second (Mistral's on its first use): call `Tokenizers.load`, and
the first Mixtral count, from a worker thread.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestratex.core.types import ChatMessage, TokenUsage

GPT4_ENCODING = "cl100k_base"
_GPT4_PER_MESSAGE = 3
_GPT4_REPLY_PRIMING = 3
_MIXTRAL_INST_TOKENS = 7
"""`▁[INST]` and `▁[/INST]` in the v1 vocabulary: 3 + 4 tokens."""


@dataclass
class Tokenizers:
    gpt4: Any
    """A `bpe_openai` Encoding for cl100k_base."""
    _mistral: Any = None
    _mistral_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls) -> Tokenizers:
        """cl100k_base now; Mistral's tokenizer on its first use (count_tokens never needs it)."""
        with warnings.catch_warnings():
            # bpe-openai 0.1.4 reads its bundled ranks with a deprecated importlib call.
            warnings.simplefilter("ignore", DeprecationWarning)
            import bpe_openai

            gpt4 = bpe_openai.get_encoding(GPT4_ENCODING)
        return cls(gpt4=gpt4)

    @property
    def mistral(self) -> Any:
        """A `mistral_common` MistralTokenizer, v1 (loaded on first use; blocking)."""
        with self._mistral_lock:
            if self._mistral is None:
                from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

                self._mistral = MistralTokenizer.v1()
            return self._mistral

    # --- GPT-4 (cl100k_base) -------------------------------------------------------------------

    def gpt4_text(self, text: str) -> int:
        return len(self.gpt4.encode_ordinary(text))

    def gpt4_chat(self, messages: Sequence[ChatMessage]) -> int:
        total = _GPT4_REPLY_PRIMING
        for message in messages:
            total += (
                _GPT4_PER_MESSAGE + self.gpt4_text(message.role) + self.gpt4_text(message.content)
            )
        return total

    # --- Mixtral (Mistral v1 SentencePiece) --------------------------------------------------

    def mixtral_text(self, text: str) -> int:
        return len(self.mistral.instruct_tokenizer.tokenizer.encode(text, bos=False, eos=False))

    def mixtral_chat(self, messages: Sequence[ChatMessage]) -> int:
        from mistral_common.protocol.instruct.messages import (
            AssistantMessage,
            SystemMessage,
            UserMessage,
        )
        from mistral_common.protocol.instruct.request import ChatCompletionRequest

        kinds: dict[str, Any] = {
            "system": SystemMessage,
            "user": UserMessage,
            "assistant": AssistantMessage,
        }
        request: Any = ChatCompletionRequest(
            messages=[kinds[m.role](content=m.content) for m in messages]
        )
        try:
            return len(self.mistral.encode_chat_completion(request).tokens)
        except Exception:
            # A conversation shape the v1 template refuses: count it message by message, with
            # the template's own markers (BOS, "[INST]"/"[/INST]" per user turn, EOS per answer).
            total = 1
            for m in messages:
                total += self.mixtral_text(m.content)
                total += _MIXTRAL_INST_TOKENS if m.role != "assistant" else 1
            return total

    # --- per model -------------------------------------------------------------------------------

    def first_tokens(self, family: str, text: str, count: int) -> str:
        """The start of `text` up to `count` output tokens of the model of `family`: where a
        provider stops an answer at `max_tokens`."""
        if family == "mistral":
            from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy

            tokenizer = self.mistral.instruct_tokenizer.tokenizer
            ids = tokenizer.encode(text, bos=False, eos=False)[:count]
            return str(tokenizer.decode(ids, special_token_policy=SpecialTokenPolicy.IGNORE))
        return str(self.gpt4.decode(self.gpt4.encode_ordinary(text)[:count]))

    def usage(self, family: str, messages: Sequence[ChatMessage], output: str) -> TokenUsage:
        """Input and output tokens as the model of `family` ("mistral", else GPT-4) counts them."""
        if family == "mistral":
            return TokenUsage(
                input_tokens=self.mixtral_chat(messages), output_tokens=self.mixtral_text(output)
            )
        return TokenUsage(
            input_tokens=self.gpt4_chat(messages), output_tokens=self.gpt4_text(output)
        )


_lock = threading.Lock()
_loaded: Tokenizers | None = None


def tokenizers() -> Tokenizers:
    """The process-wide tokenizers, loaded on first call (blocking: use a worker thread)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = Tokenizers.load()
        return _loaded
