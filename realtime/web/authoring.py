"""The course's assessments for its instructors: listed, cloned, archived and brought
back, and the LLM providers and models an assessment may choose (the operator's list,
names only: never an endpoint or a key).

Creating and editing is ``PUT /api/assessments`` (realtime.web.api); an assessment made
in the console gets a resource link id of its own, and deep linking places copies of it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from persistence.values import new_id
from realtime.auth import Identity
from realtime.hub import Hub
from realtime.web.api import (
    JSON,
    assessment_of,
    config_json,
    endpoint,
    instructor,
    room_for_another,
    title_of,
)

__all__ = ["routes"]

COPY_PREFIX = "Copy of "


async def course_assessments(request: Request, hub: Hub, identity: Identity) -> Response:
    """Every assessment of the course, newest first, archived ones marked (instructors
    of the course)."""
    instructor(identity, request.path_params["course_id"])
    configs = await hub.store.assessments.in_course(identity.tenant)
    return JSON({"assessments": [config_json(config, full=True) for config in configs]})


async def clone_assessment(request: Request, hub: Hub, identity: Identity) -> Response:
    """A copy of the assessment in the same course, with a link id of its own and its
    title marked as a copy (201)."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    await room_for_another(hub, identity)
    ai_config: dict[str, Any] = dict(config.ai_config or {})
    title = title_of(config)
    ai_config["title"] = title if title.startswith(COPY_PREFIX) else COPY_PREFIX + title
    copy = await hub.store.assessments.upsert(
        tenant=identity.tenant,
        resource_link_id=f"console-{new_id()}",
        assessment_type=config.assessment_type,
        grading_schema=config.grading_schema,
        ai_config=ai_config,
        created_by=identity.user_id,
        mastery_threshold=config.mastery_threshold,
    )
    return JSON(config_json(copy, full=True), status_code=201)


async def archive_assessment(request: Request, hub: Hub, identity: Identity) -> Response:
    """``archive``: no new attempts (finished ones stay to read, results stay);
    ``restore``: open again."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    archived = request.url.path.endswith("/archive")
    changed = await hub.store.assessments.set_archived(
        config.id, tenant=identity.tenant, archived=archived
    )
    return JSON(config_json(changed, full=True))


async def llm_providers(request: Request, hub: Hub, identity: Identity) -> Response:
    """The providers an assessment may name, with their models (instructors)."""
    instructor(identity)
    return JSON({"providers": hub.providers.choices()})


routes = [
    Route(
        "/api/courses/{course_id}/assessments",
        endpoint(course_assessments),
        methods=["GET"],
    ),
    Route("/api/assessments/{assessment_id}/clone", endpoint(clone_assessment), methods=["POST"]),
    Route(
        "/api/assessments/{assessment_id}/archive", endpoint(archive_assessment), methods=["POST"]
    ),
    Route(
        "/api/assessments/{assessment_id}/restore", endpoint(archive_assessment), methods=["POST"]
    ),
    Route("/api/llm-providers", endpoint(llm_providers), methods=["GET"]),
]
