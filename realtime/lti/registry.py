"""Registering a platform: what the operator gives (on the command line or through the
admin API), checked the same way for both."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from persistence.records import LtiPlatform
from persistence.schema import MAX_ID_CHARS
from persistence.store import Store

__all__ = [
    "InvalidRegistration",
    "Registration",
    "check_identifier",
    "described",
    "is_platform_id",
    "register",
]

_PLATFORM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_URL_CHARS = 2000
MAX_DEPLOYMENTS = 100
_URLS = ("auth_login_url", "auth_token_url", "jwks_url")


class InvalidRegistration(ValueError):
    """A registration field is wrong; the message names it."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """A platform as the operator registers it."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    deployment_ids: tuple[str, ...] = ()
    platform_id: str | None = None  # the tenant's platform id; default: the issuer's host
    token_audience: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.issuer, "issuer")
        _check_url(self.issuer, "issuer")
        check_identifier(self.client_id, "client_id")
        for name in _URLS:
            _check_url(getattr(self, name), name)
        if self.token_audience is not None:
            check_identifier(self.token_audience, "token_audience")
        if len(self.deployment_ids) > MAX_DEPLOYMENTS:
            raise InvalidRegistration(f"deployment_ids: at most {MAX_DEPLOYMENTS}")
        for deployment in self.deployment_ids:
            check_identifier(deployment, "deployment_ids")
        if self.platform_id is not None and not is_platform_id(self.platform_id):
            raise InvalidRegistration(
                "platform_id: 1-64 letters, digits, '.', '_', ':' or '-', starting with a "
                "letter or digit"
            )

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Registration:
        """A registration from the admin API's body.

        Raises:
            InvalidRegistration: naming the field.
        """
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = body.get(field.name)
            if field.name == "deployment_ids":
                if value is None:
                    value = []
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise InvalidRegistration("deployment_ids: must be a list of strings")
                values[field.name] = tuple(value)
            elif value is None and field.name in {"platform_id", "token_audience"}:
                continue
            elif not isinstance(value, str):
                raise InvalidRegistration(f"{field.name}: must be a string")
            else:
                values[field.name] = value
        unknown = set(body) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise InvalidRegistration(f"{sorted(unknown)[0]}: unknown field")
        return cls(**values)


async def register(store: Store, registration: Registration) -> LtiPlatform:
    """Register (or update) the platform; a new one without an id is named after its
    issuer's host, with a number if that is taken."""
    existing = await store.platforms.of_issuer(registration.issuer, registration.client_id)
    platform_id = registration.platform_id
    if existing:
        platform_id = existing[0].id
    elif platform_id is None:
        platform_id = await _free_id(store, urlsplit(registration.issuer).hostname or "platform")
    return await store.platforms.register(
        platform_id=platform_id,
        issuer=registration.issuer,
        client_id=registration.client_id,
        auth_login_url=registration.auth_login_url,
        auth_token_url=registration.auth_token_url,
        jwks_url=registration.jwks_url,
        token_audience=registration.token_audience,
        deployment_ids=registration.deployment_ids,
    )


async def _free_id(store: Store, base: str) -> str:
    taken = {platform.id for platform in await store.platforms.all()}
    base = base[:60]
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def is_platform_id(value: str) -> bool:
    """Whether ``value`` could name a platform (anything else names none)."""
    return _PLATFORM_ID.fullmatch(value) is not None


def check_identifier(value: str, name: str) -> None:
    """An LTI identifier: not empty, not too long for an index, no NUL.

    Raises:
        InvalidRegistration: naming the field.
    """
    if not value:
        raise InvalidRegistration(f"{name}: must not be empty")
    if "\x00" in value or len(value) > MAX_ID_CHARS:
        raise InvalidRegistration(f"{name}: at most {MAX_ID_CHARS} characters, no NUL")


def _check_url(value: str, name: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.hostname or len(value) > MAX_URL_CHARS:
        raise InvalidRegistration(f"{name}: must be an http(s) URL of at most {MAX_URL_CHARS}")
    if "\x00" in value or any(ch.isspace() for ch in value):
        raise InvalidRegistration(f"{name}: must not contain spaces or NUL")


def described(platform: LtiPlatform, deployments: Sequence[str]) -> dict[str, Any]:
    """A platform as the admin API and ``tutorchat lti platforms`` show it."""
    return {
        "platform_id": platform.id,
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "auth_login_url": platform.auth_login_url,
        "auth_token_url": platform.auth_token_url,
        "jwks_url": platform.jwks_url,
        "token_audience": platform.token_audience,
        "deployment_ids": list(deployments),
        "created_at": platform.created_at.isoformat(),
    }
