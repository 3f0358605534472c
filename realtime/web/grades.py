"""``GET /api/assessments/{id}/grades``: the scores sent (or on their way) to the LMS
gradebook for an assessment, so that an instructor sees which arrived, which wait, and
why one failed. Instructors of the assessment's course only."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from realtime.auth import Identity
from realtime.hub import Hub
from realtime.web.api import JSON, assessment_of, endpoint, instructor

__all__ = ["routes"]


async def assessment_grades(request: Request, hub: Hub, identity: Identity) -> Response:
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    entries = await hub.store.grades.of_link(config.tenant, config.resource_link_id)
    return JSON(
        {
            "counts": dict(Counter(entry.status for entry in entries)),
            "grades": [
                {
                    "user_id": entry.user_id,
                    "conversation_id": entry.conversation_id,
                    "score_given": entry.score_given,
                    "score_maximum": entry.score_maximum,
                    "status": entry.status,
                    "attempts": entry.attempts,
                    "last_error": entry.last_error,
                    "scored_at": entry.scored_at,
                    "sent_at": entry.sent_at,
                }
                for entry in entries
            ],
        }
    )


routes = [
    Route("/api/assessments/{assessment_id}/grades", endpoint(assessment_grades), methods=["GET"]),
]
