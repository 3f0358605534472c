"""Keeping an LLM tutor from saying the answer while the student is still working on it.

The prompt tells the LLM not to give key points away before the student has used their
attempts, but a prompt is a request, not a guarantee. Each chunk is checked before it
is sent: text that states a key point verbatim (any case, any spacing) is replaced by
an ellipsis. Only the end of the text that could be the start of a key point is held
back until the next chunk tells, so the stream stays live.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence

__all__ = ["WITHHELD", "withheld"]

logger = logging.getLogger(__name__)

WITHHELD = "…"


async def withheld(chunks: AsyncIterator[str], secrets: Sequence[str]) -> AsyncIterator[str]:
    """``chunks`` with every verbatim occurrence of ``secrets`` replaced by an ellipsis."""
    patterns = [_pattern(s) for s in secrets if s.split()]
    if not patterns:
        async for chunk in chunks:
            yield chunk
        return
    starts = [" ".join(s.casefold().split()) for s in secrets if s.split()]
    pending = ""
    try:
        async for chunk in chunks:
            pending = _redact(pending + chunk, patterns)
            cut = _safe_length(pending, starts)
            if cut:
                yield pending[:cut]
                pending = pending[cut:]
    except Exception:
        # The stream broke off: the text so far stands, checked. (Not on a cancel: a
        # closed generator must not yield.)
        if pending:
            yield pending
        raise
    if pending:
        yield pending


def _safe_length(text: str, secrets: list[str]) -> int:
    """How much of ``text`` can go: all but its end if that end could begin a secret."""
    longest = max(len(s) for s in secrets) * 2  # spacing in the text may be wider
    for start in range(max(0, len(text) - longest), len(text)):
        if start and text[start - 1].isalnum():
            continue  # not the start of a word
        tail = " ".join(text[start:].casefold().split())
        if tail and any(s.startswith(tail) for s in secrets):
            return start
    return len(text)


def _pattern(secret: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in secret.split()]
    return re.compile(r"\b" + r"\s+".join(words) + r"\b", re.IGNORECASE)


def _redact(text: str, patterns: list[re.Pattern[str]]) -> str:
    for pattern in patterns:
        text, count = pattern.subn(WITHHELD, text)
        if count:
            logger.warning("withheld a key point the LLM tutor was about to state")
    return text
