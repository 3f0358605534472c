"""Server settings, read from the environment once at start-up."""

from __future__ import annotations

import dataclasses
import os

from persistence.database import database_url_from_env

__all__ = ["Settings"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What an operator can configure, with the defaults of a one-process SQLite server.

    Environment variables: ``DATABASE_URL`` (default: the SQLite file ``tutorchat.db``),
    ``DATABASE_POOL_SIZE`` (PostgreSQL connections, default 10).
    """

    database_url: str
    database_pool_size: int = 10

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the process environment."""
        return cls(
            database_url=database_url_from_env(),
            database_pool_size=int(os.environ.get("DATABASE_POOL_SIZE", "10")),
        )
