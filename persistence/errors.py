"""What the stores raise.

One base class, :class:`StoreError`. Each subclass says whose fault it was: the caller
named something that does not exist (:class:`NotFound`), asked for what the data forbids
(:class:`ConversationClosed`, :class:`ConstraintViolation`), reached into another
tenant's data (:class:`OtherTenant`), or the store could not do
its work (:class:`WriteFailed`, :class:`WriterClosed`).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

__all__ = [
    "ConstraintViolation",
    "ConversationClosed",
    "NotFound",
    "OtherTenant",
    "StoreError",
    "TooManyAttempts",
    "WriteFailed",
    "WriterClosed",
    "constraint_violation",
]


class StoreError(Exception):
    """Base class of every error a store raises on purpose."""


class NotFound(StoreError):
    """The caller named a row that does not exist."""


class OtherTenant(StoreError):
    """The row the caller would write belongs to another tenant (another course)."""


class TooManyAttempts(StoreError):
    """The student has made the most attempts of the assessment allowed."""


class ConversationClosed(StoreError):
    """A user turn was sent to a conversation that is completed or abandoned."""


class ConstraintViolation(StoreError):
    """The database refused a row: a CHECK, UNIQUE, NOT NULL or foreign key failed."""


class WriteFailed(StoreError):
    """A write could not be committed; the caller's row was not stored."""


class WriterClosed(StoreError):
    """The group-commit writer is not running, so nothing more can be written."""


def constraint_violation(error: IntegrityError) -> ConstraintViolation:
    """Turn a driver's integrity error into a :class:`ConstraintViolation`.

    Both engines name the constraint (or its columns) in their message, so that message,
    minus the driver's wrapping, is the clearest thing to say.
    """
    detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    if detail.startswith("<class"):
        # asyncpg's errors come wrapped as "<class '...'>: message".
        detail = detail.split(": ", 1)[-1]
    return ConstraintViolation(f"refused by the database: {detail}")
