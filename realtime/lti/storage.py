"""LTI client-side OIDC storage (1EdTech's Platform Storage, ``lti.put_data`` and
``lti.get_data`` over ``postMessage``): the login's state kept in the platform's own
frame where the LMS's iframe gets no third-party cookie (Safari, Chrome with cookies
blocked).

- At the login, when the platform names a ``lti_storage_target``, the answer is a page
  that puts the state into that frame (posted to the origin of the platform's
  authorization endpoint, and only to it) before it goes on to the platform; the cookie
  is set as well, for platforms and browsers where it works.
- At the launch, a browser without the cookie gets a page that reads the state back
  from that frame and, when it is the launch's, confirms (``POST
  /lti/launch/confirm``) with a code the server signed over the checked launch (two
  minutes, this launch's state only). The confirmation must come from this server's own
  page (the browser's ``Sec-Fetch-Site``, else ``Origin``), so another site cannot post
  a launch of its own into the student's browser (a login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from persistence.errors import NotFound
from persistence.records import LtiPlatform
from realtime.lti import own_tokens
from realtime.lti.claims import LaunchClaims, LaunchRefused
from realtime.lti.forms import parameters
from realtime.lti.opening import frame_ancestors, proceed
from realtime.lti.pages import error_page, launch_page
from realtime.lti.service import Lti, origin_of

__all__ = ["KEY_PREFIX", "check_page", "confirm", "login_page"]

KEY_PREFIX = "tutorchat_state_"
CONFIRM_AUDIENCE = "tutorchat-launch-confirm"
CONFIRM_LIFETIME = timedelta(minutes=2)


def login_page(
    *, platform: LtiPlatform, state: str, target: str, next_url: str, ancestors: set[str]
) -> Response:
    """The login's answer when the platform offers its storage: put the state, go on."""
    return _storage_page(platform, state, target, ancestors, mode="put", value=state, next=next_url)


def check_page(
    lti: Lti,
    platform: LtiPlatform,
    state: str,
    target: str,
    claims: LaunchClaims,
    ancestors: set[str],
) -> Response:
    """The launch's answer to a browser without the cookie: read the state back from
    the platform's storage, and confirm if it is this launch's."""
    code = own_tokens.issue(
        lti.settings.signing_secret,
        CONFIRM_AUDIENCE,
        CONFIRM_LIFETIME,
        {"platform": platform.id, "state": _digest(state), "claims": claims.to_json()},
    )
    return _storage_page(platform, state, target, ancestors, mode="get", expected=state, code=code)


def _storage_page(
    platform: LtiPlatform, state: str, target: str, ancestors: set[str], **data: str
) -> Response:
    """The page of ``storage.js``: it talks to the ``target`` frame of the platform, at
    the origin of its authorization endpoint only, about this login's key."""
    return launch_page(
        title="Opening…",
        heading="Opening…",
        script="storage.js",
        ancestors=ancestors,
        data={
            "target": target,
            "origin": origin_of(platform.auth_login_url),
            "key": KEY_PREFIX + state,
            **data,
        },
    )


async def confirm(request: Request) -> Response:
    """``POST /lti/launch/confirm``: the page found the state in the platform's storage."""
    lti: Lti = request.app.state.lti
    try:
        if not _from_own_page(request, lti):
            raise LaunchRefused("the confirmation did not come from this tool's page")
        params = await parameters(request)
        signed = own_tokens.read(
            lti.settings.signing_secret,
            CONFIRM_AUDIENCE,
            params.get("code", ""),
            expired="the launch took too long to confirm",
            foreign="the confirmation is not this tool's",
        )
        if not hmac.compare_digest(_digest(params.get("state", "")), signed["state"]):
            raise LaunchRefused("the platform's storage does not hold this launch's state")
        platform = await lti.store.platforms.get(signed["platform"])
    except (LaunchRefused, NotFound) as refused:
        return error_page(str(refused))
    claims = LaunchClaims.from_json(signed["claims"])
    return await proceed(request, lti, platform, claims, frame_ancestors(lti, platform))


def _from_own_page(request: Request, lti: Lti) -> bool:
    """Whether the browser says the request comes from this server's own page: its
    Fetch Metadata (``Sec-Fetch-Site``), else its ``Origin`` (a form posted by a page
    that sends no referrer says ``Origin: null``, so the first is the one to read)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    return request.headers.get("origin") == origin_of(lti.base_url(request))


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
