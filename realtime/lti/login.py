"""``/lti/login``: OIDC third-party login initiation (LTI 1.3 core, section 5.1.1).

The platform sends the browser here with its issuer, the user's opaque ``login_hint``,
the ``target_link_uri`` to open, and optionally its ``client_id``, the
``lti_deployment_id``, a ``lti_message_hint`` and a ``lti_storage_target``. The tool
keeps a new state and nonce (single use, for ``TUTORCHAT_LTI_LOGIN_SECONDS``), sets a
cookie holding the state (``SameSite=None; Secure``, so it comes back on the launch POST
inside the LMS's frame), and sends the browser to the platform's authorization endpoint,
which posts the id_token to ``/lti/launch``. With a ``lti_storage_target`` the answer
is instead a page that also keeps the state in the platform's storage frame first
(:mod:`realtime.lti.storage`).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from persistence.records import LtiPlatform
from persistence.values import utcnow
from realtime.lti.claims import LaunchRefused
from realtime.lti.forms import parameters
from realtime.lti.opening import frame_ancestors
from realtime.lti.pages import error_page
from realtime.lti.service import Lti, origin_of
from realtime.lti.storage import login_page as storage_page

__all__ = ["STATE_COOKIE_PATH", "login", "state_cookie"]

STATE_COOKIE_PATH = "/lti"


def state_cookie(state: str) -> str:
    """The cookie that holds a login's state: one per login, so two launches in two
    tabs do not overwrite each other's."""
    return "tutorchat-lti-" + state[:16]


async def login(request: Request) -> Response:
    lti: Lti = request.app.state.lti
    try:
        params = await parameters(request)
        platform = await _platform(lti, params)
        _check_target(lti, request, params.get("target_link_uri", ""))
    except LaunchRefused as refused:
        return error_page(str(refused))
    if not await lti.logins.admit():
        return error_page(
            "too many launches are starting at once; try again in a minute", status=503
        )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await lti.store.launch_states.begin(
        state=state,
        platform_id=platform.id,
        nonce=nonce,
        expires_at=utcnow() + lti.login_lifetime,
        storage_target=params.get("lti_storage_target") or None,
    )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": lti.launch_url(request),
        "login_hint": params["login_hint"],
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    authorize = platform.auth_login_url + separator + urlencode(query)
    target = params.get("lti_storage_target")
    response: Response = RedirectResponse(authorize, 302)
    if target:
        ancestors = frame_ancestors(lti, platform)
        response = storage_page(
            platform=platform, state=state, target=target, next_url=authorize, ancestors=ancestors
        )
    response.set_cookie(
        state_cookie(state),
        state,
        max_age=int(lti.login_lifetime.total_seconds()),
        path=STATE_COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="none",
    )
    response.headers["cache-control"] = "no-store"
    return response


async def _platform(lti: Lti, params: dict[str, str]) -> LtiPlatform:
    issuer = params.get("iss")
    if not issuer:
        raise LaunchRefused("the login request has no iss (the platform's issuer)")
    if not params.get("login_hint"):
        raise LaunchRefused("the login request has no login_hint")
    if not params.get("target_link_uri"):
        raise LaunchRefused("the login request has no target_link_uri")
    client_id = params.get("client_id") or None
    found = await lti.store.platforms.of_issuer(issuer, client_id)
    if not found:
        raise LaunchRefused(f"the platform {issuer[:200]} is not registered with this tool")
    if len(found) > 1:
        raise LaunchRefused(
            f"{issuer[:200]} is registered more than once: the platform must send its client_id"
        )
    return found[0]


def _check_target(lti: Lti, request: Request, target: str) -> None:
    """The login may only lead to this tool (never an open redirect elsewhere)."""
    if origin_of(target) != origin_of(lti.base_url(request)):
        raise LaunchRefused("the target_link_uri is not an address of this tool")
