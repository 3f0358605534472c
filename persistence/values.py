"""How the store makes ids and timestamps."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime

__all__ = ["as_utc", "new_id", "utcnow"]

_LOW_62 = (1 << 62) - 1
# Its own generator: nobody else's seeding makes ids repeat, and drawing ids changes no
# one else's random state (a test generating data in another thread checks it).
_RANDOM = random.Random()
os.register_at_fork(after_in_child=_RANDOM.seed)


def new_id() -> str:
    """A new UUIDv7 (RFC 9562) as 32 hex digits.

    Time-ordered ids keep inserts at the right edge of the primary-key index, which is
    cheaper than random UUIDv4 keys on both engines. Ids need to be unique, not secret
    (access is checked against the token, never inferred from an id), so the random bits
    come from a ``random.Random`` of the module's own, reseeded in a forked child; it is
    several times faster than ``os.urandom`` here, on the hot path of every turn.
    """
    millis = time.time_ns() // 1_000_000
    rand = _RANDOM.getrandbits(74)
    value = millis << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | (rand & _LOW_62)
    return f"{value:032x}"


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A timestamp read back from the database, as an aware UTC datetime.

    SQLite keeps no zone, and every timestamp this store writes is UTC.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
