"""The platforms' key sets: fetched over HTTP from a real server, kept as its caching
headers say, fetched again for a new kid (not too often), refused when wrong."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.records import ToolKey
from persistence.values import utcnow
from realtime.lti import platform_keys
from realtime.lti.claims import LaunchRefused
from realtime.lti.platform_keys import PlatformKeys
from realtime.lti.signing import new_key, public_jwk
from tests.servers import serve


def jwk(kid: str) -> dict[str, str]:
    _, pem = new_key()
    return public_jwk(ToolKey(kid=kid, private_key=pem, created_at=utcnow(), retired_at=None))


class KeySet:
    """A JWKS endpoint whose keys, headers and answers a test sets; it counts fetches."""

    def __init__(self) -> None:
        self.keys = [jwk("k1")]
        self.cache_control: str | None = "max-age=3600"
        self.etag: str | None = None
        self.status = 200
        self.body: bytes | None = None
        self.fetches = 0
        self.revalidations = 0

    async def endpoint(self, request: Request) -> Response:
        self.fetches += 1
        headers = {}
        if self.cache_control is not None:
            headers["cache-control"] = self.cache_control
        if self.etag is not None:
            headers["etag"] = self.etag
            if request.headers.get("if-none-match") == self.etag:
                self.revalidations += 1
                return Response(status_code=304, headers=headers)
        body = self.body if self.body is not None else json.dumps({"keys": self.keys}).encode()
        return Response(body, status_code=self.status, headers=headers)


@pytest.fixture
async def served() -> AsyncIterator[tuple[KeySet, str, PlatformKeys]]:
    key_set = KeySet()
    app = Starlette(routes=[Route("/jwks", key_set.endpoint)])
    async with serve(app) as url, httpx.AsyncClient() as client:
        yield key_set, url + "/jwks", PlatformKeys(client)


async def test_a_key_set_is_kept_for_its_max_age(
    served: tuple[KeySet, str, PlatformKeys],
) -> None:
    key_set, url, keys = served
    first = await keys.key(url, "k1")
    assert (await keys.key(url, "k1")) is first
    assert key_set.fetches == 1


async def test_a_new_kid_fetches_the_set_again_but_not_every_time(
    served: tuple[KeySet, str, PlatformKeys], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_set, url, keys = served
    await keys.key(url, "k1")
    key_set.keys.append(jwk("k2"))  # the platform rotated
    monkeypatch.setattr(platform_keys, "REFETCH_SECONDS", 0.0)
    assert (await keys.key(url, "k2")).key_id == "k2"
    assert key_set.fetches == 2
    monkeypatch.setattr(platform_keys, "REFETCH_SECONDS", 3600.0)
    for _ in range(5):  # made-up kids: one fetch at most per REFETCH_SECONDS
        with pytest.raises(LaunchRefused, match="has no key"):
            await keys.key(url, "made-up")
    assert key_set.fetches == 2


async def test_no_cache_headers_revalidate_with_the_etag(
    served: tuple[KeySet, str, PlatformKeys],
) -> None:
    key_set, url, keys = served
    key_set.cache_control = "no-cache"
    key_set.etag = '"v1"'
    await keys.key(url, "k1")
    await keys.key(url, "k1")
    assert (key_set.fetches, key_set.revalidations) == (2, 1)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b"oops", "HTTP 500"),
        (200, b"not json", "not a JWKS"),
        (200, b'{"keys": [{"kty": "nope"}]}', "not a JWKS"),
        (200, b"x" * (platform_keys.MAX_KEY_SET_BYTES + 1), "too large"),
    ],
)
async def test_a_wrong_answer_refuses_the_launch(
    served: tuple[KeySet, str, PlatformKeys], status: int, body: bytes, reason: str
) -> None:
    key_set, url, keys = served
    key_set.status, key_set.body = status, body
    with pytest.raises(LaunchRefused, match=reason):
        await keys.key(url, "k1")


async def test_an_unreachable_platform_refuses_the_launch() -> None:
    async with httpx.AsyncClient() as client:
        keys = PlatformKeys(client)
        with pytest.raises(LaunchRefused, match="could not be read"):
            await keys.key("http://127.0.0.1:9/jwks", "k1")
