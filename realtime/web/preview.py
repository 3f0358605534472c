"""``POST /api/assessments/{id}/preview``: the grader's verdicts on sample answers.

An instructor of the assessment's course sends an item's id and up to
``MAX_SAMPLES`` answers and sees, before any student does, what will be accepted and
which rule decided (``assessment.preview``). Nothing is stored.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assessment.preview import MAX_SAMPLES, UnknownItem, preview
from protocol.codec import DEFAULT_MAX_CONTENT as MAX_CONTENT_CHARS
from realtime.auth import Identity
from realtime.hub import Hub
from realtime.web.api import JSON, ApiError, assessment_of, body_of, endpoint, id_of, instructor

__all__ = ["routes"]


async def preview_answers(request: Request, hub: Hub, identity: Identity) -> Response:
    """The verdict and rule for each sample answer to one item (instructors)."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    body = await body_of(request)
    item_id = id_of(body, "item_id")
    answers = body.get("answers")
    if (
        not isinstance(answers, list)
        or not 1 <= len(answers) <= MAX_SAMPLES
        or not all(isinstance(a, str) and len(a) <= MAX_CONTENT_CHARS for a in answers)
    ):
        raise ApiError(
            422,
            f"answers: must be a list of 1-{MAX_SAMPLES} strings"
            f" of at most {MAX_CONTENT_CHARS} characters",
        )
    tutor = await hub.tutor(config)
    try:
        verdicts = preview(tutor.spec, item_id, answers, catalog=tutor.catalog)
    except UnknownItem:
        raise ApiError(422, "item_id: no item of the assessment has this id") from None
    return JSON({"item_id": item_id, "verdicts": [v.to_json() for v in verdicts]})


routes = [
    Route("/api/assessments/{assessment_id}/preview", endpoint(preview_answers), methods=["POST"]),
]
