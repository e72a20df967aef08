"""Text that can be stored and sent: the one check every request string goes through.

PostgreSQL text columns cannot hold NUL, and a lone UTF-16 surrogate (which JSON's `\\udc00`
escape produces) cannot be encoded as UTF-8 for the database or a provider. Request models use
`SafeText` (or call `check_text`) so such input is a validation error at the boundary, answered
with a 4xx, instead of an exception deep in the store or a provider SDK.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(value: str) -> str:
    """`value` unchanged; ValueError if it holds NUL or a lone surrogate."""
    found = _UNSENDABLE.search(value)
    if found is not None:
        what = "NUL characters" if found.group() == "\x00" else "unpaired UTF-16 surrogates"
        raise ValueError(f"text must not contain {what}")
    return value


def is_safe_text(value: str) -> bool:
    return _UNSENDABLE.search(value) is None


SafeText = Annotated[str, AfterValidator(check_text)]
"""A string that can be stored and sent (no NUL, no lone surrogates)."""
