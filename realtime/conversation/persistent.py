"""A write the conversation cannot go on without, tried until the database takes it.

A reply's start and end, and the attempt's score, are what the students and their
teacher are promised: while the database refuses writes (its disk full, its server
restarting, a connection cut) the conversation's worker waits and tries again, and its
later jobs wait behind it in order. Nothing half-done is left: a refused write stored
nothing, so trying it again stores it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

from persistence.errors import WriteFailed

__all__ = ["RETRY_DELAYS", "persistent", "refused"]

T = TypeVar("T")
logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # seconds; then every 2 s


def refused(error: Exception) -> bool:
    """Whether ``error`` is the database refusing a write: one the group-commit writer
    could not commit, or a connection lost or refused. A constraint violation is a bug,
    not a refusal."""
    if isinstance(error, IntegrityError):
        return False
    return isinstance(error, WriteFailed | DBAPIError | OSError)


async def persistent(write: Callable[[], Awaitable[T]], *, what: str, conversation: str) -> T:
    """``write()``'s result, calling it again after each refusal (see :func:`refused`)
    until it succeeds; anything else is raised at once."""
    attempt = 0
    while True:
        try:
            return await write()
        except Exception as error:
            if not refused(error):
                raise
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            if attempt == 0:
                logger.warning(
                    "%s not stored (%s); trying again until it is",
                    what,
                    error,
                    extra={"conversation": conversation},
                )
            attempt += 1
        await asyncio.sleep(delay)
