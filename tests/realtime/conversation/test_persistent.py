"""A write the conversation cannot go on without is tried until the database takes it;
a constraint violation, a bug, is not tried again."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from persistence.errors import WriteFailed
from realtime.conversation.persistent import persistent


async def test_a_refused_write_is_tried_until_it_is_stored() -> None:
    outcomes: list[Exception | None] = [WriteFailed("disk full"), OSError("reset"), None]
    calls = 0

    async def write() -> str:
        nonlocal calls
        outcome = outcomes[calls]
        calls += 1
        if outcome is not None:
            raise outcome
        return "stored"

    assert await persistent(write, what="reply's end", conversation="c1") == "stored"
    assert calls == 3


async def test_a_constraint_violation_is_raised_at_once() -> None:
    calls = 0

    async def write() -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        await persistent(write, what="reply's start", conversation="c1")
    assert calls == 1
