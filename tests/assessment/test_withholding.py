"""The LLM tutor's stream never states a key point while it is being asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from assessment.withholding import WITHHELD, withheld


async def _stream(*chunks: str, fail: bool = False) -> AsyncIterator[str]:
    for chunk in chunks:
        yield chunk
    if fail:
        raise RuntimeError("the stream broke off")


async def _text(chunks: AsyncIterator[str]) -> str:
    return "".join([chunk async for chunk in chunks])


async def test_a_key_point_split_across_chunks_is_withheld() -> None:
    """The key point is caught however the chunks cut it, in any case and spacing."""
    chunks = _stream("Think: does chloro", "phyll  ABSORB", "S light? Look again.")
    text = await _text(withheld(chunks, ["chlorophyll absorbs light"]))
    assert text == f"Think: does {WITHHELD}? Look again."


async def test_text_without_a_key_point_passes_unchanged() -> None:
    """Nothing is altered or lost when no key point is said, and a word that only
    contains one is not one."""
    chunks = _stream("What colour ", "is chlorophyllous tissue?")
    assert await _text(withheld(chunks, ["chlorophyll"])) == "What colour is chlorophyllous tissue?"


async def test_the_text_so_far_stands_when_the_stream_breaks_off() -> None:
    """Held-back text is sent, checked, before the error goes on."""
    received: list[str] = []
    with pytest.raises(RuntimeError):
        async for chunk in withheld(_stream("Almost ", "there", fail=True), ["glucose"]):
            received.append(chunk)
    assert "".join(received) == "Almost there"
