"""Short-lived tokens the server signs for itself, to carry a checked step of an LTI flow
through the browser: a deep linking choice's context, a launch waiting for the
platform's storage to confirm it, a dynamic registration link.

Each is HS256 with the server's secret and an ``aud`` naming its purpose, so one is
never taken for another, nor for a user's token (which has no ``aud``, and is refused
where one of these is wanted).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from realtime.lti.claims import LaunchRefused

__all__ = ["issue", "read"]

ALGORITHM = "HS256"


def issue(secret: str, purpose: str, lifetime: timedelta, claims: dict[str, Any]) -> str:
    """``claims`` signed for ``purpose``, valid for ``lifetime``."""
    signed = {**claims, "aud": purpose, "exp": datetime.now(UTC) + lifetime}
    return jwt.encode(signed, secret, algorithm=ALGORITHM)


def read(secret: str, purpose: str, token: str, *, expired: str, foreign: str) -> dict[str, Any]:
    """The claims of a token this server signed for ``purpose``.

    Raises:
        LaunchRefused: ``expired`` when it has, ``foreign`` when it is not one of these.
    """
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=purpose)
    except jwt.ExpiredSignatureError:
        raise LaunchRefused(expired) from None
    except jwt.InvalidTokenError:
        raise LaunchRefused(foreign) from None
    return claims
