"""A streamed text chunk is spliced into an event rendered once per stream; it must be the very
event the chunk's model would render."""

from __future__ import annotations

import json

import pytest

from orchestratex.api.openai_schema import ChatCompletionChunk, ChunkChoice, Delta
from orchestratex.api.routes.openai_compat import _MARK, _sse


def _chunk(delta: Delta, fingerprint: str | None) -> ChatCompletionChunk:
    return ChatCompletionChunk(
        id="chatcmpl-abc",
        created=1_700_000_000,
        model="fake-gpt",
        system_fingerprint=fingerprint,
        choices=[ChunkChoice(delta=delta, finish_reason=None)],
    )


@pytest.mark.parametrize("fingerprint", [None, "orchestratex-replay"])
@pytest.mark.parametrize("text", ["hi", 'a "quote" \\ slash', "é 漢字\n\t", "\x00", _MARK, " "])
def test_spliced_text_event_equals_the_rendered_one(text: str, fingerprint: str | None) -> None:
    head, tail = _sse(_chunk(Delta(content=_MARK), fingerprint)).split(json.dumps(_MARK), 1)
    assert head + json.dumps(text) + tail == _sse(_chunk(Delta(content=text), fingerprint))
