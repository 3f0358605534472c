"""The platforms' public keys, fetched from each platform's JWKS URL and cached as HTTP
says.

A key set is kept for its ``Cache-Control: max-age`` (at most a day; five minutes when
the platform says nothing), and revalidated with its ``ETag`` when it has one. A launch
signed with a ``kid`` the cached set lacks (the platform rotated) fetches the set again
at once, but at most once every :data:`REFETCH_SECONDS` per URL, so launches naming
made-up kids cannot make the server hammer a platform. Concurrent launches wait on one
fetch. Bodies are bounded, and only the operator's registered URLs are ever fetched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time

import httpx
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from realtime.lti.claims import LaunchRefused

__all__ = ["PlatformKeys"]

DEFAULT_MAX_AGE = 300.0
LONGEST_MAX_AGE = 24 * 3600.0
REFETCH_SECONDS = 10.0
MAX_KEY_SET_BYTES = 256 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


@dataclasses.dataclass(slots=True)
class _Cached:
    keys: dict[str, PyJWK]
    etag: str | None
    fresh_until: float
    fetched_at: float


class PlatformKeys:
    """Public keys by (JWKS URL, kid), fetched through ``client``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._cached: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def key(self, jwks_url: str, kid: str) -> PyJWK:
        """The key of ``kid`` in the set at ``jwks_url``.

        Raises:
            LaunchRefused: the set has no such key, or could not be read.
        """
        cached = self._cached.get(jwks_url)
        now = time.monotonic()
        if cached is not None and kid in cached.keys and now < cached.fresh_until:
            return cached.keys[kid]
        lock = self._locks.setdefault(jwks_url, asyncio.Lock())
        async with lock:
            cached = self._cached.get(jwks_url)
            now = time.monotonic()
            stale = cached is None or now >= cached.fresh_until
            unknown = cached is not None and kid not in cached.keys
            if stale or (unknown and now - cached.fetched_at >= REFETCH_SECONDS):  # type: ignore[union-attr]
                cached = await self._fetch(jwks_url, cached)
                self._cached[jwks_url] = cached
        assert cached is not None
        found = cached.keys.get(kid)
        if found is None:
            raise LaunchRefused(f"the platform's key set has no key {kid[:80]!r}")
        return found

    async def _fetch(self, url: str, cached: _Cached | None) -> _Cached:
        headers = {"accept": "application/json"}
        if cached is not None and cached.etag:
            headers["if-none-match"] = cached.etag
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                body = await _bounded(response)
        except httpx.HTTPError as error:
            raise LaunchRefused(f"the platform's key set could not be read: {error}") from None
        now = time.monotonic()
        fresh_until = now + _max_age(response.headers.get("cache-control"))
        if response.status_code == 304 and cached is not None:
            return dataclasses.replace(cached, fresh_until=fresh_until, fetched_at=now)
        if response.status_code != 200:
            raise LaunchRefused(
                f"the platform's key set could not be read: HTTP {response.status_code}"
            )
        return _Cached(_keys(body), response.headers.get("etag"), fresh_until, now)


async def _bounded(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_KEY_SET_BYTES:
            raise LaunchRefused("the platform's key set is too large")
    return bytes(body)


def _keys(body: bytes) -> dict[str, PyJWK]:
    try:
        key_set = PyJWKSet.from_json(body.decode())
    except (PyJWKSetError, PyJWKError, ValueError, UnicodeDecodeError) as error:
        raise LaunchRefused(f"the platform's key set is not a JWKS: {error}") from None
    return {key.key_id: key for key in key_set.keys if key.key_id}


def _max_age(cache_control: str | None) -> float:
    if cache_control is None or "no-store" in cache_control or "no-cache" in cache_control:
        return DEFAULT_MAX_AGE if cache_control is None else 0.0
    found = _MAX_AGE.search(cache_control)
    return min(float(found.group(1)), LONGEST_MAX_AGE) if found else DEFAULT_MAX_AGE
