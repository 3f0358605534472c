"""The tool's own keys: RSA pairs kept in the database, published at ``/lti/jwks``, and
the signatures the tool puts on what it sends a platform (client assertions for the
platform's token endpoint; deep linking responses).

The newest key that is not retired signs. ``tutorchat lti rotate-key`` makes a new one
and retires the others; a retired key stays published for :data:`RETIRED_KEY_KEPT`, far
longer than anything it signed lives (minutes), so a platform that fetched the key set
before the rotation still verifies what was signed just before it. Each process reads the
signing key again every :data:`RELOAD_SECONDS`, so a rotation made by the command reaches
every process without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from persistence.records import ToolKey
from persistence.tool_keys import ToolKeyStore

__all__ = ["RETIRED_KEY_KEPT", "ToolSigner", "new_key", "public_jwk", "rotate"]

RETIRED_KEY_KEPT = timedelta(hours=24)
RELOAD_SECONDS = 60.0
KEY_BITS = 2048
ALGORITHM = "RS256"


def new_key() -> tuple[str, str]:
    """A new RSA key pair: (kid, private key as PKCS#8 PEM). The kid is the public key's
    RFC 7638 thumbprint, so the same key always has the same kid."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return _thumbprint(_public_numbers_jwk(private.public_key())), pem


def public_jwk(key: ToolKey) -> dict[str, Any]:
    """The public half of a tool key as a JWK, with its kid, use and algorithm."""
    private = serialization.load_pem_private_key(key.private_key.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return {
        **_public_numbers_jwk(private.public_key()),
        "kid": key.kid,
        "use": "sig",
        "alg": ALGORITHM,
    }


async def rotate(store: ToolKeyStore) -> ToolKey:
    """Make a new signing key, retire the others, and forget those retired long ago."""
    kid, pem = new_key()
    key = await store.add(kid, pem, retire_others=True)
    await store.forget_retired(kept=RETIRED_KEY_KEPT)
    return key


class ToolSigner:
    """Signs with the tool's current key, making the first key when there is none."""

    def __init__(self, store: ToolKeyStore) -> None:
        self._store = store
        self._key: ToolKey | None = None
        self._read_at = float("-inf")
        self._public: dict[str, dict[str, Any]] = {}  # by kid: a key's JWK never changes

    async def key(self) -> ToolKey:
        """The signing key (read again after a minute: another process may have rotated)."""
        if self._key is None or time.monotonic() - self._read_at > RELOAD_SECONDS:
            key = await self._store.signing()
            if key is None:
                kid, pem = new_key()
                key = await self._store.add(kid, pem)
            self._key, self._read_at = key, time.monotonic()
        return self._key

    async def sign(self, claims: dict[str, Any]) -> str:
        """``claims`` as a JWT signed with the current key, its kid in the header."""
        key = await self.key()
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})

    async def key_set(self) -> dict[str, Any]:
        """The JWKS to publish: every key not retired, or retired within a day."""
        await self.key()  # there is always one to publish
        keys = await self._store.published(kept=RETIRED_KEY_KEPT)
        for key in keys:
            if key.kid not in self._public:
                self._public[key.kid] = public_jwk(key)
        return {"keys": [self._public[key.kid] for key in keys]}


def _public_numbers_jwk(public: rsa.RSAPublicKey) -> dict[str, str]:
    jwk: dict[str, str] = json.loads(RSAAlgorithm.to_jwk(public))
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}


def _thumbprint(jwk: dict[str, str]) -> str:
    canonical = json.dumps({name: jwk[name] for name in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
