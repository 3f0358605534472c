"""Tokens: HS256 JWTs signed with the server secret (``TUTORCHAT_SECRET``).

Claims: ``sub`` (the user id), ``course``, ``platform``, ``roles`` (a list holding
``Learner`` and/or ``Instructor``) and ``exp``. The same token authenticates the
WebSocket ``hello`` and the HTTP API (``Authorization: Bearer``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from persistence.records import Tenant
from persistence.schema import MAX_ID_CHARS

__all__ = ["ALGORITHM", "INSTRUCTOR", "LEARNER", "AuthError", "Identity", "mint", "verify"]

ALGORITHM = "HS256"
LEARNER = "Learner"
INSTRUCTOR = "Instructor"


class AuthError(Exception):
    """The token is missing, malformed, badly signed, expired or lacks a claim."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who a valid token speaks for."""

    user_id: str
    course_id: str
    platform_id: str
    roles: frozenset[str]
    expires_at: float = float("inf")  # the token's exp (seconds since the epoch)

    @property
    def tenant(self) -> Tenant:
        """The course on a platform the token speaks within."""
        return Tenant(self.platform_id, self.course_id)

    @property
    def is_instructor(self) -> bool:
        return INSTRUCTOR in self.roles

    @property
    def is_learner(self) -> bool:
        return LEARNER in self.roles


def verify(token: str, secrets: Sequence[str]) -> Identity:
    """The identity a token carries, signed with any of ``secrets``.

    Raises:
        AuthError: saying what is wrong with the token, in the protocol's words (never
            the JWT library's, which change between its versions).
    """
    claims = _claims(token, secrets)
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise AuthError("invalid token: roles must be a list of strings")
    fields = {name: claims.get(name) for name in ("sub", "course", "platform")}
    for name, value in fields.items():
        if not isinstance(value, str) or not value:
            raise AuthError(f"invalid token: {name} must be a non-empty string")
        if "\x00" in value:
            raise AuthError(f"invalid token: {name} must not contain NUL")
        if len(value) > MAX_ID_CHARS:
            raise AuthError(f"invalid token: {name} must be at most {MAX_ID_CHARS} characters")
    return Identity(
        user_id=claims["sub"],
        course_id=claims["course"],
        platform_id=claims["platform"],
        roles=frozenset(roles),
        expires_at=float(claims["exp"]),
    )


def _claims(token: str, secrets: Sequence[str]) -> dict[str, Any]:
    """The claims of a token signed by one of ``secrets`` (tried in order)."""
    for secret in secrets:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.InvalidSignatureError:
            continue  # signed with another of the secrets, perhaps
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.MissingRequiredClaimError as missing:
            raise AuthError(f"invalid token: no {missing.claim} claim") from None
        except jwt.InvalidAlgorithmError:
            raise AuthError(f"invalid token: only {ALGORITHM} is accepted") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("invalid token: not valid yet") from None
        except jwt.InvalidTokenError:
            raise AuthError("invalid token: malformed") from None
        return claims
    raise AuthError("invalid token: bad signature")


def mint(
    secret: str,
    *,
    user_id: str,
    course_id: str,
    platform_id: str = "local",
    roles: Iterable[str] = (LEARNER,),
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """A signed token for local use and load tests."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": user_id,
        "course": course_id,
        "platform": platform_id,
        "roles": list(roles),
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
