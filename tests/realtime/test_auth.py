"""Tokens: minted and verified; every bad token is refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from realtime.auth import AuthError, Identity, mint, verify

SECRET = "test-secret-" + "x" * 64  # long enough for every HMAC size the tests sign with


def test_a_minted_token_verifies_to_its_identity() -> None:
    """The claims come back as the identity."""
    token = mint(SECRET, user_id="u1", course_id="k1", platform_id="p", roles=["Instructor"])
    assert verify(token, SECRET) == Identity(
        user_id="u1", course_id="k1", platform_id="p", roles=frozenset({"Instructor"})
    )
    assert verify(token, SECRET).is_instructor and not verify(token, SECRET).is_learner


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
            "invalid token: Signature",
        ),
        (_signed(GOOD | {"exp": datetime.now(UTC) - timedelta(seconds=5)}), "token expired"),
        (
            _signed({k: v for k, v in GOOD.items() if k != "exp"}),
            'invalid token: Token is missing the "exp"',
        ),
        (
            _signed({k: v for k, v in GOOD.items() if k != "sub"}),
            'invalid token: Token is missing the "sub"',
        ),
        (_signed(GOOD | {"roles": "Learner"}), "roles must be a list of strings"),
        (_signed(GOOD | {"course": ""}), "course must be a non-empty string"),
        (
            _signed({k: v for k, v in GOOD.items() if k != "platform"}),
            "platform must be a non-empty string",
        ),
        (_signed(GOOD, algorithm="HS512"), "invalid token: The specified alg value is not allowed"),
    ],
)
def test_bad_tokens_are_refused(token: str, message: str) -> None:
    """Each bad token raises AuthError saying what is wrong."""
    with pytest.raises(AuthError, match=message):
        verify(token, SECRET)
