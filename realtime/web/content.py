"""An assessment's generated content, for its instructors: made from source text (the
built-in generator, or the assessment's LLM), listed, edited, approved or withdrawn.
Only approved content reaches students, in conversations opened after.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assessment.generation import FIELDS, generate
from assessment.spec import AssessmentSpec, InvalidConfig
from realtime.auth import Identity
from realtime.hub import Hub
from realtime.web.api import JSON, ApiError, assessment_of, body_of, endpoint, instructor, text_of

__all__ = ["routes"]

# Generated content's source material and the terms to blank: a chapter, a glossary.
MAX_SOURCE_CHARS = 100_000
MAX_TERMS = 100
MAX_TERM_CHARS = 100
MAX_ITEMS = 100


async def create_content(request: Request, hub: Hub, identity: Identity) -> Response:
    """Generate items or cards from source text (cached by hash; unapproved)."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    body = await body_of(request)
    kind = body.get("kind", config.assessment_type)
    if kind not in ("fill_blank", "flashcards"):
        raise ApiError(422, "kind: must be fill_blank or flashcards")
    count = body.get("count", 10)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise ApiError(422, "count: must be a whole number from 1 to 100")
    terms = body.get("terms", [])
    if (
        not isinstance(terms, list)
        or len(terms) > MAX_TERMS
        or not all(isinstance(t, str) and 0 < len(t) <= MAX_TERM_CHARS for t in terms)
    ):
        raise ApiError(
            422,
            f"terms: must be a list of at most {MAX_TERMS} strings"
            f" of 1-{MAX_TERM_CHARS} characters",
        )
    source = text_of(body, "source")
    if len(source) > MAX_SOURCE_CHARS:
        raise ApiError(422, f"source: must be at most {MAX_SOURCE_CHARS} characters")
    tutor = await hub.tutor(config)
    content = await generate(
        hub.store.content,
        config.id,
        source,
        kind,
        count=count,
        terms=terms,
        llm=hub.chat_client(tutor.spec, config.id),
    )
    return JSON(content, status_code=201)


async def list_content(request: Request, hub: Hub, identity: Identity) -> Response:
    """An assessment's generated content, approved or not (instructors)."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    contents = await hub.store.content.list(config.id)
    return JSON({"content": contents})


async def review_content(request: Request, hub: Hub, identity: Identity) -> Response:
    """Approve or reject generated content; only approved content reaches students."""
    instructor(identity)
    decision = request.path_params["decision"]
    if decision not in ("approve", "reject"):
        raise ApiError(404, f"no such decision {decision!r}: approve or reject")
    config = await assessment_of(request, hub, identity)
    approved = decision == "approve"
    content = await hub.store.content.set_approved(
        config.id, request.path_params["content_hash"], approved
    )
    hub.forget_tutor(content.assessment_config_id)
    return JSON(content)


async def edit_content(request: Request, hub: Hub, identity: Identity) -> Response:
    """``PUT``: generated content's items (or cards) as the instructor corrected them,
    checked as an assessment's own are; approved or not as before."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    content_hash = request.path_params["content_hash"]
    known = await hub.store.content.get(config.id, content_hash)
    if known is None:
        raise ApiError(404, f"no generated content {content_hash}")
    kind = known.content_type or config.assessment_type
    field = FIELDS[kind]
    body = await body_of(request)
    items: Any = body.get(field)
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise ApiError(422, f"{field}: must be a list of 1-{MAX_ITEMS} {field}")
    try:
        AssessmentSpec.from_config(
            assessment_type=kind,
            grading_schema="mastery",
            mastery_threshold=80,
            ai_config={field: items},
        )
    except InvalidConfig as invalid:
        raise ApiError(422, str(invalid).removeprefix("ai_config.")) from None
    edited = await hub.store.content.replace(
        config.id, content_hash, {**known.content, field: items, "edited_by": identity.user_id}
    )
    hub.forget_tutor(config.id)
    return JSON(edited)


routes = [
    Route("/api/assessments/{assessment_id}/content", endpoint(create_content), methods=["POST"]),
    Route("/api/assessments/{assessment_id}/content", endpoint(list_content), methods=["GET"]),
    Route(
        "/api/assessments/{assessment_id}/content/{content_hash}",
        endpoint(edit_content),
        methods=["PUT"],
    ),
    Route(
        "/api/assessments/{assessment_id}/content/{content_hash}/{decision:str}",
        endpoint(review_content),
        methods=["POST"],
    ),
]
