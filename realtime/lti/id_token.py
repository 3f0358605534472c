"""The id_token of a launch, verified: the checks of the LTI 1.3 core specification
(section 5.1.3) and 1EdTech's security framework, in the order a certification suite
tries them, each refusal saying what was wrong.

The token must be a JWS (three parts) signed with RS256 by the key its header's ``kid``
names in the platform's key set; its ``iss`` the platform's issuer; its ``aud`` the
tool's client id (among several, then with ``azp`` naming it); ``exp`` not past and
``iat`` not ahead, each with :data:`LEEWAY_SECONDS` of clock skew; its ``nonce`` the one
this login sent. What the token says of LTI is read next (:mod:`realtime.lti.claims`).
"""

from __future__ import annotations

import hmac
from typing import Any

import jwt

from persistence.records import LaunchState, LtiPlatform
from realtime.lti.claims import LaunchRefused
from realtime.lti.platform_keys import PlatformKeys

__all__ = ["LEEWAY_SECONDS", "verify_id_token"]

LEEWAY_SECONDS = 60
ALGORITHM = "RS256"


async def verify_id_token(
    id_token: str, *, platform: LtiPlatform, login: LaunchState, keys: PlatformKeys
) -> dict[str, Any]:
    """The claims of a launch's id_token, verified against its platform and login.

    Raises:
        LaunchRefused: saying which check failed.
    """
    if id_token.count(".") != 2:
        raise LaunchRefused("the id_token is not a JWT (an LTI 1.3 launch sends one)")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.DecodeError:
        raise LaunchRefused("the id_token is not a JWT (an LTI 1.3 launch sends one)") from None
    if header.get("alg") != ALGORITHM:
        raise LaunchRefused(f"the id_token must be signed with {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRefused("the id_token's header has no kid")
    key = (await keys.key(platform.jwks_url, kid)).key
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=[ALGORITHM],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "nonce"]},
        )
    except jwt.InvalidSignatureError:
        raise LaunchRefused("the id_token's signature does not verify") from None
    except jwt.ExpiredSignatureError:
        raise LaunchRefused("the id_token has expired") from None
    except jwt.InvalidIssuedAtError:
        raise LaunchRefused("the id_token's iat must be a number") from None
    except jwt.ImmatureSignatureError:
        raise LaunchRefused("the id_token was issued in the future (iat)") from None
    except jwt.InvalidIssuerError:
        raise LaunchRefused("the id_token's issuer is not the platform's") from None
    except jwt.InvalidAudienceError:
        raise LaunchRefused("the id_token is not for this tool (aud)") from None
    except jwt.MissingRequiredClaimError as missing:
        raise LaunchRefused(f"the id_token has no {missing.claim} claim") from None
    except jwt.InvalidTokenError as invalid:
        raise LaunchRefused(f"the id_token is invalid: {invalid}") from None
    _check_authorized_party(claims, platform.client_id)
    nonce = claims["nonce"]
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce, login.nonce):
        raise LaunchRefused("the id_token's nonce is not this login's (a replayed launch?)")
    return claims


def _check_authorized_party(claims: dict[str, Any], client_id: str) -> None:
    """With several audiences, ``azp`` must name the tool; when present, always."""
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    azp = claims.get("azp")
    if (several or azp is not None) and azp != client_id:
        raise LaunchRefused("the id_token's authorized party (azp) is not this tool")
