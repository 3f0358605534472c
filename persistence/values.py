"""How the store makes ids and timestamps."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

__all__ = ["as_utc", "new_id", "utcnow"]


def new_id() -> str:
    """A new UUIDv7 (RFC 9562) as 32 hex digits.

    Time-ordered ids keep inserts at the right edge of the primary-key index, which is
    cheaper than random UUIDv4 keys on both engines.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    value = (millis << 80) | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
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
