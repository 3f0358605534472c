"""Calls to a platform's LTI Advantage services: the access token (OAuth 2 client
credentials with a signed JWT assertion, LTI security framework section 4.1), Assignment
and Grade Services (line items, scores), and Names and Role Provisioning Services (the
course's members).

Tokens are cached per platform and scope until a minute before they expire. Service
URLs come only from the platform's signed launches (never from an instructor) and must
be https, or http only for a platform registered on http (a local or test platform).
Every failure is a :class:`ServiceError` that says whether trying again may help.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import orjson

from persistence.records import LtiPlatform
from realtime.lti.signing import ToolSigner

__all__ = [
    "LINEITEM_SCOPE",
    "MEMBERSHIP_SCOPE",
    "SCORE_SCOPE",
    "PlatformServices",
    "Score",
    "ServiceError",
]

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_READ_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
MEMBERSHIP_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS = 300
TOKEN_MARGIN_SECONDS = 60.0
MAX_ANSWER_BYTES = 1024 * 1024
LINEITEM_TAG = "tutorchat"
_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
_SCORE = "application/vnd.ims.lis.v1.score+json"
_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_MEMBERS = 10_000
MAX_MEMBER_PAGES = 100


class ServiceError(Exception):
    """A call to the platform failed; ``transient``: trying again later may work
    (``retry_after``: seconds the platform asked for)."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after
        self.status = status  # the platform's HTTP status, when it answered


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """An AGS score, as the score service takes it."""

    user_id: str
    score_given: float
    score_maximum: float
    activity_progress: str
    grading_progress: str
    timestamp: datetime
    comment: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "userId": self.user_id,
            "scoreGiven": self.score_given,
            "scoreMaximum": self.score_maximum,
            "activityProgress": self.activity_progress,
            "gradingProgress": self.grading_progress,
            "timestamp": self.timestamp.isoformat(timespec="milliseconds"),
        }
        if self.comment:
            body["comment"] = self.comment
        return body


class PlatformServices:
    """A platform's services, called with the tool's signed assertion."""

    def __init__(self, signer: ToolSigner, client: httpx.AsyncClient) -> None:
        self._signer = signer
        self._client = client
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    async def post_score(self, platform: LtiPlatform, lineitem_url: str, score: Score) -> None:
        """Send ``score`` to the line item's score service.

        Raises:
            ServiceError: with ``status`` 409 when the platform holds a newer score.
        """
        await self._call(
            platform,
            "POST",
            _subpath(lineitem_url, "scores"),
            scope=SCORE_SCOPE,
            json=score.to_json(),
            content_type=_SCORE,
        )

    async def find_or_create_lineitem(
        self,
        platform: LtiPlatform,
        lineitems_url: str,
        *,
        resource_link_id: str,
        label: str,
        scopes: frozenset[str],
    ) -> str:
        """The line item of a resource link in the platform's container: the one that
        has it, else one made for it (where the platform lets the tool make them)."""
        scope = LINEITEM_SCOPE if LINEITEM_SCOPE in scopes else LINEITEM_READ_SCOPE
        found = await self._call(
            platform,
            "GET",
            _with_query(lineitems_url, {"resource_link_id": resource_link_id}),
            scope=scope,
            accept=_LINEITEMS,
        )
        items = found if isinstance(found, list) else []
        for item in items:
            if isinstance(item, Mapping) and item.get("resourceLinkId") == resource_link_id:
                if isinstance(item.get("id"), str):
                    return str(item["id"])
        if scope != LINEITEM_SCOPE:
            raise ServiceError(
                "the link has no line item and the platform does not let the tool make one",
                transient=False,
            )
        made = await self._call(
            platform,
            "POST",
            lineitems_url,
            scope=LINEITEM_SCOPE,
            json={
                "scoreMaximum": 100,
                "label": label,
                "resourceLinkId": resource_link_id,
                "tag": LINEITEM_TAG,
            },
            content_type=_LINEITEM,
            accept=_LINEITEM,
        )
        if not isinstance(made, Mapping) or not isinstance(made.get("id"), str):
            raise ServiceError("the platform made a line item with no id", transient=True)
        return str(made["id"])

    async def members(self, platform: LtiPlatform, memberships_url: str) -> list[dict[str, Any]]:
        """The course's members from Names and Role Provisioning Services, every page
        (following ``Link: <...>; rel="next"``), at most :data:`MAX_MEMBERS`."""
        members: list[dict[str, Any]] = []
        url: str | None = memberships_url
        for _ in range(MAX_MEMBER_PAGES):
            if url is None or len(members) >= MAX_MEMBERS:
                break
            page, url = await self._page(platform, url)
            found = page.get("members") if isinstance(page, Mapping) else None
            members += [m for m in found or [] if isinstance(m, dict)]
        return members[:MAX_MEMBERS]

    async def _page(self, platform: LtiPlatform, url: str) -> tuple[Any, str | None]:
        response = await self._request(
            platform, "GET", url, scope=MEMBERSHIP_SCOPE, accept=_MEMBERSHIPS
        )
        following = response.links.get("next", {}).get("url")
        return _json(response, "the platform"), following

    async def access_token(self, platform: LtiPlatform, scope: str) -> str:
        """A bearer token for ``scope`` (cached until a minute before it expires)."""
        cached = self._tokens.get((platform.id, scope))
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        now = int(time.time())
        assertion = await self._signer.sign(
            {
                "iss": platform.client_id,
                "sub": platform.client_id,
                "aud": platform.token_audience or platform.auth_token_url,
                "iat": now,
                "exp": now + ASSERTION_SECONDS,
                "jti": secrets.token_urlsafe(16),
            }
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        }
        try:
            response = await self._client.post(platform.auth_token_url, data=form)
        except httpx.HTTPError as error:
            raise ServiceError(
                f"the token endpoint could not be reached: {error}", transient=True
            ) from None
        answer = _json(response, "the token endpoint")
        token = answer.get("access_token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str):
            raise ServiceError("the token endpoint gave no access_token", transient=True)
        lifetime = answer.get("expires_in", 3600)
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        self._tokens[(platform.id, scope)] = (
            token,
            time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 0.0),
        )
        return token

    def forget_token(self, platform: LtiPlatform, scope: str) -> None:
        self._tokens.pop((platform.id, scope), None)

    async def _call(self, platform: LtiPlatform, method: str, url: str, **how: Any) -> Any:
        """A service's JSON answer (as :meth:`_request` takes ``how``)."""
        return _json(await self._request(platform, method, url, **how), "the platform")

    async def _request(
        self,
        platform: LtiPlatform,
        method: str,
        url: str,
        *,
        scope: str,
        json: Any = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> httpx.Response:
        _check_service_url(platform, url)
        token = await self.access_token(platform, scope)
        headers = {"authorization": f"Bearer {token}"}
        if content_type:
            headers["content-type"] = content_type
        if accept:
            headers["accept"] = accept
        try:
            response = await self._client.request(
                method,
                url,
                headers=headers,
                content=None if json is None else orjson.dumps(json),
            )
        except httpx.HTTPError as error:
            raise ServiceError(
                f"the platform could not be reached: {error}", transient=True
            ) from None
        if response.status_code == 401:
            self.forget_token(platform, scope)  # expired early, or revoked: a new one next
        return response


def _json(response: httpx.Response, who: str) -> Any:
    """The JSON of a successful answer (None if empty), or the error it is."""
    status = response.status_code
    if 200 <= status < 300:
        if not response.content:
            return None
        if len(response.content) > MAX_ANSWER_BYTES:
            raise ServiceError(f"{who} answered with too much", transient=True)
        try:
            return response.json()
        except ValueError:
            return None
    transient = status in (401, 404, 408, 425, 429) or status >= 500
    raise ServiceError(
        f"{who} answered HTTP {status}: {response.text[:200]}",
        transient=transient,
        retry_after=_retry_after(response.headers.get("retry-after")),
        status=status,
    )


def _retry_after(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        return None  # an HTTP date: the backoff decides


def _subpath(url: str, name: str) -> str:
    """``url`` with ``/name`` added to its path, its query kept (AGS section 3.4)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + name))


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))


def _check_service_url(platform: LtiPlatform, url: str) -> None:
    parts = urlsplit(url)
    allowed = {"https"} | ({"http"} if platform.auth_token_url.startswith("http:") else set())
    if parts.scheme not in allowed or not parts.hostname:
        raise ServiceError(f"the service URL {url[:200]!r} is not https", transient=False)
