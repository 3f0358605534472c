"""The token secrets: refused when missing or short, rotated, and made in demo mode."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from realtime.app import create_app
from realtime.auth import verify
from realtime.keys import DEMO_SECRET_FILE, UnsafeSecret, check_secrets, demo_secret
from realtime.settings import Settings
from tests.limits import TIMEOUT

TUTORCHAT = str(Path(sys.executable).with_name("tutorchat"))


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ((), "TUTORCHAT_SECRET is not set"),
        (("",), "secret 1 is 0 bytes; each must be at least 32"),
        (("x",), "secret 1 is 1 bytes"),
        (("k" * 32, "short"), "secret 2 is 5 bytes"),
    ],
)
def test_missing_or_short_secrets_are_refused(secrets: tuple[str, ...], message: str) -> None:
    """The check, and the app built with such settings, say what is wrong."""
    with pytest.raises(UnsafeSecret, match=message):
        check_secrets(secrets)
    with pytest.raises(UnsafeSecret, match=message):
        create_app(Settings(database_url="sqlite:///unused.db", secrets=secrets))


def test_secrets_of_32_bytes_or_more_are_accepted() -> None:
    """32 bytes is enough, counted in bytes, not characters."""
    check_secrets(("k" * 32, "é" * 16))


async def _serve(env: dict[str, str], *args: str) -> tuple[int | None, str]:
    child = await asyncio.create_subprocess_exec(
        TUTORCHAT,
        "serve",
        "--port",
        "0",
        *args,
        env={k: v for k, v in os.environ.items() if k != "TUTORCHAT_SECRET"} | env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await asyncio.wait_for(child.communicate(), TIMEOUT)
    return child.returncode, error.decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
async def test_the_server_does_not_start_without_a_secret(tmp_path: Path, host: str) -> None:
    """Exit 2, with one line saying what to set, on any host."""
    code, error = await _serve({"DATABASE_URL": f"sqlite:///{tmp_path}/t.db"}, "--host", host)
    assert code == 2
    assert error.strip().splitlines() == [
        "tutorchat: TUTORCHAT_SECRET is not set: set it to a random string of at least 32 "
        "bytes (for example: openssl rand -hex 32), or run with --demo"
    ]


async def test_the_server_does_not_start_with_a_short_secret(tmp_path: Path) -> None:
    """A one-character secret is refused at start, not answered 500 later."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TUTORCHAT_SECRET": "x"}
    code, error = await _serve(env)
    assert code == 2
    assert "secret 1 is 1 bytes" in error


def test_demo_mode_makes_one_secret_per_data_directory(tmp_path: Path) -> None:
    """Made once beside the SQLite file (owner-only), then read back; none without create."""
    url = f"sqlite+aiosqlite:///{tmp_path}/data/tutorchat.db"
    (tmp_path / "data").mkdir()
    assert demo_secret(url, create=False) is None
    secret = demo_secret(url, create=True)
    assert secret is not None and len(secret.encode()) >= 32
    assert demo_secret(url, create=True) == secret == demo_secret(url, create=False)
    mode = (tmp_path / "data" / DEMO_SECRET_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    other = f"sqlite+aiosqlite:///{tmp_path}/tutorchat.db"
    assert demo_secret(other, create=True) != secret


async def test_the_token_command_signs_with_the_demo_secret(tmp_path: Path) -> None:
    """Beside a demo server's database, `tutorchat token` needs no TUTORCHAT_SECRET."""
    url = f"sqlite:///{tmp_path}/tutorchat.db"
    secret = demo_secret(url, create=True)
    assert secret is not None
    env = {k: v for k, v in os.environ.items() if k != "TUTORCHAT_SECRET"}
    child = await asyncio.create_subprocess_exec(
        TUTORCHAT,
        *("token", "--user", "u1", "--course", "k1"),
        env=env | {"DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(child.communicate(), TIMEOUT)
    assert verify(output.decode().strip(), [secret]).user_id == "u1"
    child = await asyncio.create_subprocess_exec(
        TUTORCHAT,
        *("token", "--user", "u1", "--course", "k1"),
        env=env | {"DATABASE_URL": f"sqlite:///{tmp_path}/elsewhere/x.db"},
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await asyncio.wait_for(child.communicate(), TIMEOUT)
    assert child.returncode == 2
    assert "TUTORCHAT_SECRET is not set" in error.decode()
