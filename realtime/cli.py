"""The ``tutorchat`` command: ``migrate`` the database, ``serve`` the application."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence

import uvicorn

from persistence import migrate
from persistence.database import Database, database_url_from_env

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    command: int = args.run(args)
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutorchat", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    migrate_cmd = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate_cmd.add_argument("--database-url", default=None, help="default: $DATABASE_URL")
    migrate_cmd.set_defaults(run=_migrate)

    serve = commands.add_parser("serve", help="migrate, then run the server")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.set_defaults(run=_serve)
    return parser


def _migrate(args: argparse.Namespace) -> int:
    async def run() -> str | None:
        db = Database(args.database_url or database_url_from_env())
        try:
            await migrate.upgrade(db)
            return await migrate.current_revision(db)
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(run())}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    uvicorn.run(
        "realtime.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        loop="uvloop",
        http="httptools",
    )
    return 0
