"""What a checked launch opens: for a resource link, the learner's conversation in the
widget (a token minted for ``TUTORCHAT_LTI_TOKEN_SECONDS``) or the instructor's
configuration page; for a deep linking request, the picker. The tenant is the platform
(its registration's id) and the context (the course).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from persistence.records import AssessmentConfig, LtiPlatform, ResourceLink, Tenant
from realtime.auth import Identity, mint
from realtime.hub import Hub
from realtime.lti.claims import LaunchClaims
from realtime.lti.deep_linking import picker_page, place
from realtime.lti.pages import launch_page, notice_page
from realtime.lti.service import Lti, origin_of
from realtime.web.api import ApiError, open_attempt

__all__ = ["frame_ancestors", "proceed"]


async def proceed(
    request: Request, lti: Lti, platform: LtiPlatform, claims: LaunchClaims, ancestors: set[str]
) -> Response:
    """The page a checked launch opens."""
    returned = origin_of(claims.return_url)
    ancestors = ancestors | ({returned} if returned else set())
    if claims.deep_linking is not None:
        course = await lti.store.assessments.in_course(Tenant(platform.id, claims.course_id))
        choices = [config for config in course if config.archived_at is None]
        return picker_page(lti, platform, claims, choices, ancestors)
    await lti.store.resource_links.record(_resource_link(platform, claims))
    return await _open(request, lti, platform, claims, ancestors)


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
        widget=True,
        ancestors=ancestors,
        data={
            "url": base,
            "token": token,
            "conversationId": conversation.id,
            "assessmentId": config.id,
            "title": title,
        },
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


def frame_ancestors(lti: Lti, platform: LtiPlatform) -> set[str]:
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
