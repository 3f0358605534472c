"""The tutorchat command line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from persistence import migrate
from persistence.database import Database
from realtime.cli import main
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


def test_grade_prints_each_verdict_with_its_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tutorchat grade`` previews answers to one item of a configuration file, offline."""
    config = tmp_path / "quiz.json"
    config.write_text(
        '{"assessment_type": "fill_blank", "ai_config": {"items": ['
        '{"id": "i1", "text": "Carbon monoxide is ___.", "answers": ["CO"]}]}}'
    )
    assert main(["grade", str(config), "--item", "i1", "CO", "Co"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("correct  'CO'") and lines[0].endswith("[exact]")
    assert lines[1].startswith("wrong    'Co'") and lines[1].endswith("[case]")


def test_grade_names_a_missing_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown item id is an error on stderr, exit status 2."""
    config = tmp_path / "quiz.json"
    config.write_text(
        '{"assessment_type": "flashcards", "ai_config": {"cards": ['
        '{"id": "c1", "front": "H2O", "back": "water"}]}}'
    )
    assert main(["grade", str(config), "--item", "c9", "water"]) == 2
    assert "no item 'c9'" in capsys.readouterr().err
