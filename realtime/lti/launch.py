"""``/lti/launch``: the platform posts the id_token here, and the tool opens what the
launch is for.

The login's state is taken (once), the browser shown to be the one that began the login
(the state cookie), the id_token verified (:mod:`realtime.lti.id_token`) and its claims
read (:mod:`realtime.lti.claims`), and the deployment found among the platform's. Any
refusal is a page saying why, with nothing stored. Then the launch opens what it is for
(:mod:`realtime.lti.opening`).

Where the browser kept no cookie (third-party cookies blocked in the LMS's frame) and
the login used the platform's storage (``lti_storage_target``), the check that this is
the browser that began the login is made in the page, against that storage
(:mod:`realtime.lti.storage`), before anything opens.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from persistence.errors import NotFound
from realtime.lti import storage
from realtime.lti.claims import LaunchRefused, read_claims
from realtime.lti.forms import parameters
from realtime.lti.id_token import verify_id_token
from realtime.lti.login import STATE_COOKIE_PATH, state_cookie
from realtime.lti.opening import frame_ancestors, proceed
from realtime.lti.pages import error_page
from realtime.lti.service import Lti

__all__ = ["launch"]


async def launch(request: Request) -> Response:
    lti: Lti = request.app.state.lti
    try:
        params = await parameters(request)
        state, id_token = params.get("state"), params.get("id_token")
        if not state:
            raise LaunchRefused("the launch has no state")
        if not id_token:
            raise LaunchRefused("the launch has no id_token")
        login = await lti.store.launch_states.take(state)
        if login is None:
            raise LaunchRefused("this launch's login has expired or was already used")
        platform = await lti.store.platforms.get(login.platform_id)
    except (LaunchRefused, NotFound) as refused:
        return error_page(str(refused))
    ancestors = frame_ancestors(lti, platform)
    try:
        held = _holds_cookie(request, state)
        if not held and login.storage_target is None:
            raise LaunchRefused(
                "this browser did not keep the launch's cookie (blocked third-party "
                "cookies?); open the assessment in a new window from your course"
            )
        claims = read_claims(
            await verify_id_token(id_token, platform=platform, login=login, keys=lti.platform_keys)
        )
        if not await lti.store.platforms.has_deployment(platform.id, claims.deployment_id):
            raise LaunchRefused(
                f"the deployment {claims.deployment_id[:80]!r} is not registered with this "
                "tool (the operator adds it: tutorchat lti add-deployment)"
            )
    except LaunchRefused as refused:
        return error_page(str(refused), ancestors=ancestors)
    if not held:
        assert login.storage_target is not None
        return storage.check_page(lti, platform, state, login.storage_target, claims, ancestors)
    response = await proceed(request, lti, platform, claims, ancestors)
    response.delete_cookie(
        state_cookie(state), path=STATE_COOKIE_PATH, secure=True, httponly=True, samesite="none"
    )
    return response


def _holds_cookie(request: Request, state: str) -> bool:
    """Whether the launch comes from the browser that began the login: it holds the
    state's cookie (a launch posted from elsewhere, a login CSRF, does not)."""
    held = request.cookies.get(state_cookie(state), "")
    return hmac.compare_digest(held.encode(), state.encode())
