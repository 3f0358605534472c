"""Deep Linking 2.0: an instructor, from the LMS, picks an assessment of the course (or a
new one) and the tool answers with a signed ``LtiDeepLinkingResponse`` holding one LTI
resource link and its line item.

The picker is a page of plain forms; what the request said (the platform, deployment,
course, return URL, the platform's ``data``) travels in each form as a context token the
server signed (HS256, ``aud`` of its own so it is never a user's token, ten minutes).
The chosen assessment's id rides in the resource link's custom parameters
(``tutorchat_assessment``); the link's first launch places a copy of it there
(:func:`place`), so each placement has its own settings and results.
"""

from __future__ import annotations

import html
import secrets
import time
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from persistence.errors import NotFound
from persistence.records import AssessmentConfig, LtiPlatform, Tenant
from realtime.auth import INSTRUCTOR
from realtime.lti import own_tokens
from realtime.lti.claims import LTI, LaunchClaims, LaunchRefused
from realtime.lti.forms import parameters
from realtime.lti.pages import error_page, framed
from realtime.lti.service import Lti, origin_of
from realtime.web.api import title_of

__all__ = ["CUSTOM_ASSESSMENT", "choose", "picker_page", "place"]

CUSTOM_ASSESSMENT = "tutorchat_assessment"
NEW = "new"
CONTEXT_AUDIENCE = "tutorchat-deep-link"
CONTEXT_LIFETIME = timedelta(minutes=10)
RESPONSE_SECONDS = 300
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


def picker_page(
    lti: Lti,
    platform: LtiPlatform,
    claims: LaunchClaims,
    choices: list[AssessmentConfig],
    ancestors: set[str],
) -> Response:
    """The instructor's choice of what to place."""
    if INSTRUCTOR not in claims.roles:
        return error_page("only an instructor of the course adds assessments", ancestors=ancestors)
    assert claims.deep_linking is not None
    context = own_tokens.issue(
        lti.settings.signing_secret,
        CONTEXT_AUDIENCE,
        CONTEXT_LIFETIME,
        {
            "platform": platform.id,
            "deployment": claims.deployment_id,
            "course": claims.course_id,
            "user": claims.user_id,
            "return_url": claims.deep_linking.return_url,
            "data": claims.deep_linking.data,
        },
    )
    rows = "".join(
        _choice(
            context,
            config.id,
            title_of(config),
            f"{config.assessment_type}, {config.grading_schema}",
        )
        for config in choices
    )
    body = (
        "<h1>Add an assessment</h1>"
        f"<p>To {html.escape(claims.course_title or claims.course_id)}: pick one of the "
        "course's assessments (each placement gets its own copy and results), or a new "
        "one to set up at its first launch.</p>"
        f'<ul class="lti-choices">{rows}'
        f"{_choice(context, NEW, 'A new assessment', 'set up when you first open it')}</ul>"
    )
    return framed("Add an assessment", body, ancestors=ancestors)


async def choose(request: Request) -> Response:
    """``POST /lti/deep-link``: the instructor's choice, answered with the signed
    response, posted to the platform by the page."""
    lti: Lti = request.app.state.lti
    try:
        params = await parameters(request)
        context = _context(lti, params.get("context", ""))
        platform = await lti.store.platforms.get(context["platform"])
        chosen = params.get("assessment", "")
        tenant = Tenant(platform.id, context["course"])
        title, resource_id = "A new assessment", NEW
        if chosen != NEW:
            config = await lti.store.assessments.get(chosen, tenant=tenant)
            title, resource_id = title_of(config), config.id
    except (LaunchRefused, NotFound) as refused:
        return error_page(str(refused))
    now = int(time.time())
    item: dict[str, Any] = {
        "type": "ltiResourceLink",
        "title": title,
        "url": lti.launch_url(request),
        "custom": {CUSTOM_ASSESSMENT: resource_id},
        "lineItem": {
            "scoreMaximum": 100,
            "label": title,
            "resourceId": resource_id,
            "tag": "tutorchat",
        },
    }
    claims: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": now,
        "exp": now + RESPONSE_SECONDS,
        "nonce": secrets.token_urlsafe(16),
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": context["deployment"],
        DL + "content_items": [item],
    }
    if context.get("data"):
        claims[DL + "data"] = context["data"]
    signed = await lti.signer.sign(claims)
    return_url = context["return_url"]
    ancestors = {o for o in (origin_of(platform.issuer), origin_of(platform.auth_login_url)) if o}
    body = (
        "<h1>Adding the assessment…</h1>"
        f'<form id="lti-return" method="post" action="{html.escape(return_url)}">'
        f'<input type="hidden" name="JWT" value="{html.escape(signed)}">'
        '<button type="submit">Continue</button></form>'
    )
    return framed(
        "Adding the assessment",
        body,
        ancestors=ancestors | set(lti.settings.lti_frame_ancestors),
        form_action=origin_of(return_url),
        scripts=["/lti/static/submit.js"],
    )


async def place(
    lti: Lti, tenant: Tenant, resource_link_id: str, custom: dict[str, str]
) -> AssessmentConfig | None:
    """The assessment of a resource link; at a deep-linked link's first launch, a copy of
    the assessment it was made from (of the same course only)."""
    placed = await lti.store.assessments.find(tenant.platform_id, resource_link_id)
    template_id = custom.get(CUSTOM_ASSESSMENT)
    if placed is not None or not template_id or template_id == NEW:
        return placed
    try:
        template = await lti.store.assessments.get(template_id, tenant=tenant)
    except NotFound:
        return None  # another course's, or gone: the instructor sets this one up
    return await lti.store.assessments.upsert(
        tenant=tenant,
        resource_link_id=resource_link_id,
        assessment_type=template.assessment_type,
        grading_schema=template.grading_schema,
        ai_config=template.ai_config,
        created_by=template.created_by,
        mastery_threshold=template.mastery_threshold,
    )


def _context(lti: Lti, token: str) -> dict[str, Any]:
    return own_tokens.read(
        lti.settings.signing_secret,
        CONTEXT_AUDIENCE,
        token,
        expired="the choice took too long: add the assessment again from the LMS",
        foreign="the choice did not come from this tool's page",
    )


def _choice(context: str, value: str, title: str, detail: str) -> str:
    return (
        '<li><form method="post" action="/lti/deep-link">'
        f'<input type="hidden" name="context" value="{html.escape(context)}">'
        f'<input type="hidden" name="assessment" value="{html.escape(value)}">'
        f'<button type="submit">{html.escape(title)}</button> '
        f'<span class="lti-detail">{html.escape(detail)}</span></form></li>'
    )
