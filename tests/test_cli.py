"""The tutorchat command line."""

from __future__ import annotations

import asyncio
import json
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


async def _tutorchat(database_url: str, *args: str) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        str(TUTORCHAT),
        *args,
        env=os.environ | {"DATABASE_URL": database_url, "TUTORCHAT_SECRET": "s" * 40},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), TIMEOUT)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def test_lti_commands_register_list_and_rotate(database_url: str) -> None:
    """``tutorchat lti``: a platform registered, a deployment added, the key rotated."""
    status, out, err = await _tutorchat(
        database_url,
        "lti",
        "register",
        "--issuer", "https://moodle.example.edu",
        "--client-id", "abc123",
        "--deployment-id", "1",
        "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
        "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
        "--jwks-url", "https://moodle.example.edu/mod/lti/certs.php",
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out)["platform_id"] == "moodle.example.edu"
    status, out, err = await _tutorchat(
        database_url, "lti", "add-deployment", "moodle.example.edu", "2"
    )
    assert status == 0, err
    status, out, err = await _tutorchat(database_url, "lti", "platforms")
    (shown,) = json.loads(out)
    assert shown["deployment_ids"] == ["1", "2"]
    status, out, err = await _tutorchat(database_url, "lti", "rotate-key")
    assert status == 0 and json.loads(out)["kid"]
    status, out, err = await _tutorchat(
        database_url, "lti", "registration-url", "--url", "https://tutor.example.edu"
    )
    assert status == 0, err
    assert out.startswith("https://tutor.example.edu/lti/register?code=")


async def test_lti_commands_say_what_is_wrong(database_url: str) -> None:
    """A wrong field or an unknown platform: the reason on stderr, exit status 2."""
    status, _, err = await _tutorchat(
        database_url,
        "lti",
        "register",
        "--issuer", "moodle",
        "--client-id", "abc123",
        "--auth-login-url", "https://moodle.example.edu/a",
        "--auth-token-url", "https://moodle.example.edu/t",
        "--jwks-url", "https://moodle.example.edu/k",
    )  # fmt: skip
    assert status == 2 and "issuer: must be an http(s) URL" in err
    status, _, err = await _tutorchat(database_url, "lti", "remove", "nowhere")
    assert status == 2 and "no platform nowhere" in err
