"""``GET /api/assessments/{id}/roster``: the course's learners from the LMS (LTI Names and
Role Provisioning Services), each with where they stand on the assessment, so that an
instructor sees who has not started. Instructors of the assessment's course only.

The roster is read from the platform at each request and not stored; names and emails
are shown as the platform gives them. It needs a launch of the assessment's link that
offered the roster service.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.errors import NotFound
from persistence.records import Conversation
from realtime.auth import LEARNER, Identity
from realtime.hub import Hub
from realtime.lti.roles import map_roles
from realtime.lti.service import Lti
from realtime.lti.services import ServiceError
from realtime.web.api import JSON, ApiError, assessment_of, endpoint, instructor

__all__ = ["routes"]


async def assessment_roster(request: Request, hub: Hub, identity: Identity) -> Response:
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    lti: Lti = request.app.state.lti
    link = await hub.store.resource_links.get(config.platform_id, config.resource_link_id)
    if link is None or link.memberships_url is None:
        raise ApiError(409, "no launch of this assessment's link offered the course roster (NRPS)")
    try:
        platform = await hub.store.platforms.get(config.platform_id)
        members = await lti.services.members(platform, link.memberships_url)
    except NotFound:
        raise ApiError(409, "the assessment's platform is no longer registered") from None
    except ServiceError as error:
        raise ApiError(502, f"the roster could not be read: {error}") from None
    attempts = _by_learner(await hub.store.conversations.of_assessment(config.id))
    entries = (_learner(member, attempts.get(str(member.get("user_id")), [])) for member in members)
    learners = [learner for learner in entries if learner is not None]
    return JSON(
        {
            "counts": dict(Counter(learner["status"] for learner in learners)),
            "learners": learners,
        }
    )


def _by_learner(conversations: list[Conversation]) -> dict[str, list[Conversation]]:
    found: dict[str, list[Conversation]] = {}
    for conversation in conversations:
        found.setdefault(conversation.user_id, []).append(conversation)
    return found


def _learner(member: dict[str, Any], attempts: list[Conversation]) -> dict[str, Any] | None:
    """A roster entry for an active learner (None for anyone else)."""
    roles = member.get("roles")
    status = member.get("status", "Active")
    if not isinstance(member.get("user_id"), str) or status != "Active":
        return None
    if map_roles(r for r in roles or [] if isinstance(r, str)) != {LEARNER}:
        return None
    latest = attempts[-1] if attempts else None
    return {
        "user_id": member["user_id"],
        "name": member.get("name") if isinstance(member.get("name"), str) else None,
        "email": member.get("email") if isinstance(member.get("email"), str) else None,
        "status": latest.status if latest is not None else "not_started",
        "attempts": len(attempts),
        "mastery_score": latest.mastery_score if latest is not None else None,
    }


routes = [
    Route("/api/assessments/{assessment_id}/roster", endpoint(assessment_roster), methods=["GET"]),
]
