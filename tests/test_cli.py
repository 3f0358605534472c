"""The tutorchat command line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import inspect

from persistence import migrate
from persistence.database import Database
from tests.limits import TIMEOUT

TUTORCHAT = Path(sys.executable).with_name("tutorchat")


async def test_migrate_brings_an_empty_database_to_the_head(database_url: str) -> None:
    """`tutorchat migrate` on DATABASE_URL creates the schema and says its revision."""
    child = await asyncio.create_subprocess_exec(
        str(TUTORCHAT),
        "migrate",
        env=os.environ | {"DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), TIMEOUT)
    assert child.returncode == 0, output.decode()
    assert output.decode().strip().endswith(f"database at revision {migrate.head_revision()}")
    db = Database(database_url)
    try:
        async with db.read() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await db.dispose()
    assert {"assessment_configs", "conversations", "conversation_messages"} <= tables
