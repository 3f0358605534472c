"""Server settings, read from the environment once at start-up."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from persistence.database import database_url_from_env
from persistence.store import WRITE_GATHER_SECONDS

__all__ = ["ConfigError", "Settings"]


class ConfigError(Exception):
    """A setting the server cannot run with; the message names it and says why."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What an operator can configure; the defaults are a one-process SQLite server.

    Each field is read from the environment variable named in the README's table
    (``TUTORCHAT_`` and the field name in capitals, except ``DATABASE_URL``).
    """

    database_url: str
    database_pool_size: int = 10
    write_gather_seconds: float = WRITE_GATHER_SECONDS  # SQLite, under load: between commits
    redis_url: str = ""
    lease_seconds: float = 5.0
    secrets: tuple[str, ...] = ()  # TUTORCHAT_SECRET, comma-separated; the first signs
    llm_providers: str = ""  # JSON, inline or in a file: see realtime.llm_providers
    allowed_origins: tuple[str, ...] = ()
    max_frame_bytes: int = 64 * 1024
    max_content_chars: int = 8000
    max_body_bytes: int = 1024 * 1024
    request_timeout: float = 30.0  # for an HTTP request's headers and body to arrive
    max_header_bytes: int = 64 * 1024
    write_timeout: float = 30.0  # a client that reads nothing for this long is dropped
    hello_timeout: float = 10.0
    heartbeat_interval: float = 25.0
    heartbeat_timeout: float = 10.0
    outbox_bytes: int = 1024 * 1024
    coalesce_seconds: float = 0.030
    flush_seconds: float = 1.0
    replay_cap: int = 1000
    rate_limit_turns: int = 30  # new turns per user, across their sockets
    rate_limit_seconds: float = 60.0
    max_sockets_per_user: int = 10
    max_conversations_per_user: int = 50  # attempts of one assessment
    idle_abandon_seconds: float = 24 * 3600.0
    sweep_seconds: float = 60.0
    shutdown_grace: float = 5.0
    per_message_deflate: bool = False
    # The server's address as browsers and platforms reach it (behind a proxy): what
    # LTI redirect and launch URLs are made of. Empty: the address of each request.
    public_url: str = ""
    # The operator's key for the admin API (/api/admin/...); empty: that API is off.
    admin_key: str = ""
    lti_token_seconds: float = 3600.0  # the widget's token after a launch
    lti_login_seconds: float = 600.0  # an OIDC login's state, from login to launch
    lti_max_pending_logins: int = 100_000
    # How long a process holds the scores it is sending before another may send them
    # (a process killed mid-send has its scores sent by another after this).
    grade_lease_seconds: float = 60.0
    # Origins that may frame the launch pages besides the platform's own (a Canvas
    # school's domain, say, whose issuer is canvas.instructure.com).
    lti_frame_ancestors: tuple[str, ...] = ()
    # Words per second the built-in tutor streams its replies at (0: as fast as it can,
    # as load tests want); `serve --demo` streams at DEMO_TUTOR_PACE unless this is set.
    tutor_pace: float = 0.0
    demo: bool = False

    @property
    def signing_secret(self) -> str:
        """The secret that signs the tokens this server mints (the first)."""
        if not self.secrets:
            raise LookupError("no TUTORCHAT_SECRET")
        return self.secrets[0]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (by default the process environment)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {"database_url": database_url_from_env()}
        if "DATABASE_URL" in env:
            values["database_url"] = database_url_from_env(env["DATABASE_URL"])
        for field in dataclasses.fields(cls):
            name = _ENV_NAMES.get(field.name, f"TUTORCHAT_{field.name.upper()}")
            if field.name == "database_url" or name not in env:
                continue
            values[field.name] = _parse(field.type, env[name], name)
        return cls(**values)  # type: ignore[arg-type]


# Settings named as the services' own conventions have them, without TUTORCHAT_, and
# the secrets, named in the singular as most deployments have one.
_ENV_NAMES = {
    "database_pool_size": "DATABASE_POOL_SIZE",
    "redis_url": "REDIS_URL",
    "secrets": "TUTORCHAT_SECRET",
}


def _parse(kind: object, raw: str, name: str) -> object:
    try:
        match kind:
            case "int":
                return int(raw)
            case "float":
                return float(raw)
            case "bool":
                return raw.strip().lower() in {"1", "true", "yes", "on"}
            case "tuple[str, ...]":
                return tuple(part.strip() for part in raw.split(",") if part.strip())
            case _:
                return raw
    except ValueError:
        raise ValueError(f"{name}: cannot read {raw!r} as {kind}") from None
