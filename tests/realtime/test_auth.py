"""Tokens: minted and verified; every bad token is refused with a reason."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from realtime.auth import AuthError, Identity, mint, verify

SECRET = "test-secret-" + "x" * 64  # long enough for every HMAC size the tests sign with


def test_a_minted_token_verifies_to_its_identity() -> None:
    """The claims come back as the identity."""
    token = mint(SECRET, user_id="u1", course_id="k1", platform_id="p", roles=["Instructor"])
    identity = verify(token, [SECRET])
    assert dataclasses.replace(identity, expires_at=0) == Identity(
        user_id="u1",
        course_id="k1",
        platform_id="p",
        roles=frozenset({"Instructor"}),
        expires_at=0,
    )
    assert verify(token, [SECRET]).is_instructor and not verify(token, [SECRET]).is_learner


def _signed(claims: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


FUTURE = datetime.now(UTC) + timedelta(hours=1)
GOOD = {"sub": "u", "course": "k", "platform": "p", "roles": ["Learner"], "exp": FUTURE}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-jwt", "invalid token"),
        (
            _signed(GOOD, secret="another-secret-" + "y" * 64),
            "invalid token: bad signature",
        ),
        (_signed(GOOD | {"exp": datetime.now(UTC) - timedelta(seconds=5)}), "token expired"),
        (
            _signed({k: v for k, v in GOOD.items() if k != "exp"}),
            "invalid token: no exp claim",
        ),
        (
            _signed({k: v for k, v in GOOD.items() if k != "sub"}),
            "invalid token: no sub claim",
        ),
        (_signed(GOOD | {"roles": "Learner"}), "roles must be a list of strings"),
        (_signed(GOOD | {"course": ""}), "course must be a non-empty string"),
        (
            _signed({k: v for k, v in GOOD.items() if k != "platform"}),
            "platform must be a non-empty string",
        ),
        (_signed(GOOD, algorithm="HS512"), "invalid token: only HS256 is accepted"),
        ("not-a-jwt", "invalid token: malformed"),
        (_signed(GOOD | {"sub": "a\x00b"}), "sub must not contain NUL"),
        (_signed(GOOD | {"course": "k" * 256}), "course must be at most 255 characters"),
    ],
)
def test_bad_tokens_are_refused(token: str, message: str) -> None:
    """Each bad token raises AuthError saying what is wrong."""
    with pytest.raises(AuthError, match=message):
        verify(token, [SECRET])


def test_a_token_signed_with_any_accepted_secret_verifies() -> None:
    """While keys rotate, tokens of the previous secret stay valid; others do not."""
    old = "previous-secret-" + "p" * 40
    token = mint(old, user_id="u1", course_id="k1")
    assert verify(token, [SECRET, old]).user_id == "u1"
    with pytest.raises(AuthError, match="bad signature"):
        verify(token, [SECRET])


def test_an_identity_knows_when_its_token_expires() -> None:
    """The token's exp, for closing the socket when it passes."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    token = mint(SECRET, user_id="u1", course_id="k1", ttl=timedelta(hours=1), now=now)
    with pytest.raises(AuthError, match="token expired"):
        verify(token, [SECRET])
    fresh = mint(SECRET, user_id="u1", course_id="k1", ttl=timedelta(hours=1))
    expires = verify(fresh, [SECRET]).expires_at
    assert 3500 < expires - datetime.now(UTC).timestamp() <= 3600
