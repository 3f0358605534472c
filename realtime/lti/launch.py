"""``/lti/launch``: the platform posts the id_token here, and the tool opens what the
launch is for.

The login's state is taken (once), the browser shown to be the one that began the login
(the state cookie), the id_token verified (:mod:`realtime.lti.id_token`) and its claims
read (:mod:`realtime.lti.claims`), and the deployment found among the platform's. Any
refusal is a page saying why, with nothing stored. Then the resource link's description
is kept (its grade and roster endpoints), and:

- a learner's conversation of the link's assessment is opened (or resumed) in the
  widget, with a token minted for ``TUTORCHAT_LTI_TOKEN_SECONDS``;
- an instructor gets the link's configuration page, with an instructor token;
- a deep linking request (an instructor adding the tool in the LMS) gets the picker of
  :mod:`realtime.lti.deep_linking`.

The tenant is the platform (its registration's id) and the context (the course).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from persistence.errors import NotFound
from persistence.records import AssessmentConfig, LtiPlatform, ResourceLink, Tenant
from realtime.auth import Identity, mint
from realtime.hub import Hub
from realtime.lti.claims import LaunchClaims, LaunchRefused, read_claims
from realtime.lti.deep_linking import picker_page, place
from realtime.lti.forms import parameters
from realtime.lti.id_token import verify_id_token
from realtime.lti.login import STATE_COOKIE_PATH, state_cookie
from realtime.lti.pages import error_page, launch_page, notice_page
from realtime.lti.service import Lti, origin_of
from realtime.web.api import ApiError, open_attempt

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
    ancestors = _frame_ancestors(lti, platform)
    try:
        _check_browser(request, state)
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
    returned = origin_of(claims.return_url)
    ancestors |= {returned} if returned else set()
    if claims.deep_linking is not None:
        tenant = Tenant(platform.id, claims.course_id)
        choices = await lti.store.assessments.in_course(tenant)
        response = picker_page(lti, platform, claims, choices, ancestors)
    else:
        await lti.store.resource_links.record(_resource_link(platform, claims))
        response = await _open(request, lti, platform, claims, ancestors)
    response.delete_cookie(
        state_cookie(state), path=STATE_COOKIE_PATH, secure=True, httponly=True, samesite="none"
    )
    return response


def _check_browser(request: Request, state: str) -> None:
    """The launch comes from the browser that began the login: it holds the state's
    cookie (a launch posted from elsewhere, a login CSRF, does not)."""
    held = request.cookies.get(state_cookie(state), "")
    if not hmac.compare_digest(held.encode(), state.encode()):
        raise LaunchRefused(
            "this browser did not keep the launch's cookie (blocked third-party cookies?); "
            "open the assessment in a new window from your course"
        )


async def _open(
    request: Request, lti: Lti, platform: LtiPlatform, claims: LaunchClaims, ancestors: set[str]
) -> Response:
    hub: Hub = request.app.state.hub
    lifetime = timedelta(seconds=lti.settings.lti_token_seconds)
    identity = Identity(
        user_id=claims.user_id,
        course_id=claims.course_id,
        platform_id=platform.id,
        roles=claims.roles,
        expires_at=(datetime.now(UTC) + lifetime).timestamp(),
    )
    token = mint(
        lti.settings.signing_secret,
        user_id=identity.user_id,
        course_id=identity.course_id,
        platform_id=identity.platform_id,
        roles=sorted(identity.roles),
        ttl=lifetime,
    )
    assert claims.resource_link_id is not None
    config = await place(lti, identity.tenant, claims.resource_link_id, claims.custom)
    if config is not None and config.course_id != claims.course_id:
        return notice_page(
            "This assessment belongs to another course",
            "The link was copied from another course. Your instructor places the "
            "assessment in this course again.",
            ancestors=ancestors,
            status=403,
        )
    heading = claims.resource_link_title or "Assessment"
    base = lti.base_url(request)
    if identity.is_instructor:
        return launch_page(
            title=heading,
            heading=heading,
            script="configure.js",
            ancestors=ancestors,
            data={
                "url": base,
                "token": token,
                "platformId": platform.id,
                "resourceLinkId": claims.resource_link_id,
                "course": claims.course_title or claims.course_id,
                "name": claims.name,
                "assessment": _shown_config(config),
            },
        )
    if config is None:
        return notice_page(
            "Not set up yet",
            "Your instructor has not set up this assessment yet. Come back to it later.",
            ancestors=ancestors,
        )
    try:
        conversation, _ = await open_attempt(hub, config, identity)
    except ApiError as refused:
        return notice_page("No more attempts", str(refused), ancestors=ancestors, status=429)
    title = str((config.ai_config or {}).get("title") or heading)
    return launch_page(
        title=title,
        heading=title,
        script="learner.js",
        ancestors=ancestors,
        data={"url": base, "token": token, "conversationId": conversation.id, "title": title},
    )


def _shown_config(config: AssessmentConfig | None) -> dict[str, object] | None:
    if config is None:
        return None
    return {
        "id": config.id,
        "assessment_type": config.assessment_type,
        "grading_schema": config.grading_schema,
        "mastery_threshold": config.mastery_threshold,
        "ai_config": config.ai_config,
    }


def _frame_ancestors(lti: Lti, platform: LtiPlatform) -> set[str]:
    """Who may frame the launch's pages: the platform (its issuer's and login's
    origins) and the origins the operator adds."""
    found = {origin_of(platform.issuer), origin_of(platform.auth_login_url)}
    found |= {origin_of(origin) for origin in lti.settings.lti_frame_ancestors}
    return {origin for origin in found if origin}


def _resource_link(platform: LtiPlatform, claims: LaunchClaims) -> ResourceLink:
    assert claims.resource_link_id is not None
    return ResourceLink(
        platform_id=platform.id,
        course_id=claims.course_id,
        resource_link_id=claims.resource_link_id,
        deployment_id=claims.deployment_id,
        title=claims.resource_link_title,
        lineitem_url=claims.lineitem_url,
        lineitems_url=claims.lineitems_url,
        ags_scopes=claims.ags_scopes,
        memberships_url=claims.memberships_url,
        updated_at=datetime.now(UTC),
    )
