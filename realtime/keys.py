"""The secrets that sign and verify tokens, and the refusal to run without good ones.

Outside demo mode the operator sets ``TUTORCHAT_SECRET``: one secret, or several
separated by commas while keys rotate (the first signs; every one is accepted, so tokens
signed with the previous secret stay valid until they expire). Each must be at least 32
bytes: HS256 is as strong as its key, and a short one is guessed offline from any token.

In demo mode with no secret set, a random one is made once per data directory (the SQLite
database's folder, else the working directory) and kept in a file there, so that tokens
minted by ``tutorchat token`` beside the server verify, and a restart keeps them valid.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from realtime.settings import ConfigError, Settings

__all__ = [
    "DEMO_SECRET_FILE",
    "MIN_SECRET_BYTES",
    "UnsafeSecret",
    "check_admin_key",
    "check_secrets",
    "demo_secret",
    "minting_secret",
]

logger = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
DEMO_SECRET_FILE = "tutorchat-demo-secret"


class UnsafeSecret(ConfigError):
    """The configured secrets would let anyone mint tokens; the message says how to fix it."""


def check_secrets(keys: tuple[str, ...]) -> None:
    """Refuse secrets that are missing or too short.

    Raises:
        UnsafeSecret: one line, naming the variable and what it needs.
    """
    if not keys:
        raise UnsafeSecret(
            "TUTORCHAT_SECRET is not set: set it to a random string of at least "
            f"{MIN_SECRET_BYTES} bytes (for example: openssl rand -hex 32), or run with --demo"
        )
    for position, key in enumerate(keys, start=1):
        size = len(key.encode())
        if size < MIN_SECRET_BYTES:
            raise UnsafeSecret(
                f"TUTORCHAT_SECRET: secret {position} is {size} bytes; each must be at least "
                f"{MIN_SECRET_BYTES} (for example: openssl rand -hex 32)"
            )


def check_admin_key(key: str) -> None:
    """Refuse an admin key (``TUTORCHAT_ADMIN_KEY``) short enough to guess; none is fine
    (the admin API is then off).

    Raises:
        UnsafeSecret: naming the variable and what it needs.
    """
    size = len(key.encode())
    if key and size < MIN_SECRET_BYTES:
        raise UnsafeSecret(
            f"TUTORCHAT_ADMIN_KEY is {size} bytes; it must be at least {MIN_SECRET_BYTES} "
            "(for example: openssl rand -hex 32), or unset to turn the admin API off"
        )


def data_directory(database_url: str) -> Path:
    """Where the server keeps its files: the SQLite database's folder, else the working
    directory."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return Path.cwd()


def demo_secret(database_url: str, *, create: bool) -> str | None:
    """The demo secret of the data directory, made (mode 0600) if ``create`` and missing.

    Returns:
        The secret, or None if there is none and ``create`` is false.
    """
    path = data_directory(database_url) / DEMO_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    if not create:
        return None
    secret = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")
    logger.warning("demo mode: made a random token secret, kept in %s", path)
    return secret


def minting_secret() -> str | None:
    """The secret to sign with: TUTORCHAT_SECRET's first, else the demo server's beside
    its database; None (said on stderr) if there is neither."""
    settings = Settings.from_env()
    if settings.secrets:
        return settings.signing_secret
    secret = demo_secret(settings.database_url, create=False)
    if secret is None:
        sys.stderr.write(
            "tutorchat: TUTORCHAT_SECRET is not set, and no demo server has made a secret "
            "beside the database\n"
        )
    return secret
