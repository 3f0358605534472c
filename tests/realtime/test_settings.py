"""Settings come from the environment; a value that cannot be read names its variable."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from realtime.auth import verify
from realtime.settings import Settings
from tests.limits import TIMEOUT


def test_settings_are_read_by_type() -> None:
    """Numbers, flags and lists are parsed; unset variables keep their defaults."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://db/x",
            "DATABASE_POOL_SIZE": "4",
            "TUTORCHAT_SECRET": f"{'n' * 40}, {'o' * 40}",
            "TUTORCHAT_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "TUTORCHAT_COALESCE_SECONDS": "0.05",
            "TUTORCHAT_DEMO": "yes",
            "TUTORCHAT_PER_MESSAGE_DEFLATE": "0",
        }
    )
    assert settings.database_url == "postgresql+asyncpg://db/x"
    assert settings.database_pool_size == 4
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.coalesce_seconds == 0.05
    assert (settings.demo, settings.per_message_deflate) == (True, False)
    assert settings.replay_cap == 1000
    assert settings.secrets == ("n" * 40, "o" * 40)
    assert settings.signing_secret == "n" * 40


def test_a_bad_value_names_its_variable() -> None:
    """An unreadable number says which variable holds it."""
    with pytest.raises(ValueError, match="TUTORCHAT_REPLAY_CAP: cannot read 'many' as int"):
        Settings.from_env({"TUTORCHAT_REPLAY_CAP": "many"})


SECRET = "token-command-secret-" + "t" * 40


async def test_the_token_command_prints_a_valid_token() -> None:
    """`tutorchat token` signs with TUTORCHAT_SECRET for the given user, course and roles."""
    command = Path(sys.executable).with_name("tutorchat")
    child = await asyncio.create_subprocess_exec(
        str(command),
        "token",
        "--user",
        "alice",
        "--course",
        "c1",
        "--role",
        "Instructor",
        env=os.environ | {"TUTORCHAT_SECRET": SECRET},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(child.communicate(), TIMEOUT)
    identity = verify(output.decode().strip(), [SECRET])
    assert (identity.user_id, identity.course_id, identity.roles) == (
        "alice",
        "c1",
        frozenset({"Instructor"}),
    )
