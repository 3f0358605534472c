"""The HTTP API: JSON, authenticated with the protocol's token as ``Authorization: Bearer``.

Every route acts within the token's tenant (its platform and course): another tenant's
assessment or conversation is 404, as if it did not exist. Errors are
``{"error": "..."}`` with 400 (malformed JSON), 401 (no or bad token), 403 (wrong role,
course or user), 404 (unknown id, or another tenant's), 413 (a body over the limit),
422 (a field is wrong; the message names it) or 429 (a limit reached).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assessment.spec import AssessmentSpec, InvalidConfig
from persistence.errors import ConstraintViolation, NotFound, OtherTenant, TooManyAttempts
from persistence.records import AssessmentConfig, Conversation
from persistence.schema import MAX_ID_CHARS
from realtime.auth import AuthError, Identity, verify
from realtime.hub import Hub
from realtime.sockets.frames import message_frame

__all__ = [
    "JSON",
    "ApiError",
    "assessment_of",
    "body_of",
    "config_json",
    "endpoint",
    "id_of",
    "instructor",
    "open_attempt",
    "passed",
    "room_for_another",
    "routes",
    "text_of",
    "title_of",
    "visible_conversation",
]

MAX_PAGE = 1000
MAX_ASSESSMENTS_PER_COURSE = 1000  # clones and links included, archived ones too
OPENING_WAIT = 10.0  # seconds; the opening starts within milliseconds


class ApiError(Exception):
    """An HTTP error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class JSON(Response):
    """A JSON response encoded with orjson (dataclasses and UTC timestamps included)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


Handler = Callable[[Request, Hub, Identity], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        try:
            _check_parameters(request)
            return await handler(request, hub, _identity(request, hub))
        except ApiError as error:
            return JSON({"error": str(error)}, status_code=error.status)
        except NotFound as missing:
            return JSON({"error": str(missing)}, status_code=404)
        except OtherTenant:
            return JSON({"error": "resource_link_id: belongs to another course"}, status_code=403)
        except ConstraintViolation as refused:
            return JSON({"error": str(refused)}, status_code=422)
        except InvalidConfig as invalid:
            return JSON({"error": str(invalid)}, status_code=422)

    endpoint.__name__ = handler.__name__
    return endpoint


def _identity(request: Request, hub: Hub) -> Identity:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing bearer token")
    try:
        return verify(token.strip(), hub.settings.secrets)
    except AuthError as error:
        raise ApiError(401, str(error)) from None


def _check_parameters(request: Request) -> None:
    """No id or query has NUL (PostgreSQL refuses it in text), nor is longer than an id."""
    for where, values in (("path", request.path_params), ("query", request.query_params)):
        for name, value in values.items():
            if "\x00" in name or "\x00" in str(value):
                raise ApiError(422, f"{where} parameters must not contain NUL")
            if len(str(value)) > MAX_ID_CHARS:
                raise ApiError(422, f"{name}: must be at most {MAX_ID_CHARS} characters")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def instructor(identity: Identity, course_id: str | None = None) -> None:
    if not identity.is_instructor:
        raise ApiError(403, "instructors only")
    if course_id is not None and identity.course_id != course_id:
        raise ApiError(403, "not an instructor of this course")


async def body_of(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "the body must be a JSON object")
    if _has_nul(body):
        raise ApiError(422, "the body must not contain NUL")
    return body


def text_of(body: dict[str, Any], field: str) -> str:
    """A non-empty string field of a body, or 422 naming it."""
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, f"{field}: must be a non-empty string")
    return value


def id_of(body: dict[str, Any], field: str) -> str:
    value = text_of(body, field)
    if len(value) > MAX_ID_CHARS:
        raise ApiError(422, f"{field}: must be at most {MAX_ID_CHARS} characters")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, f"{name}: must be a whole number") from None
    if not low <= value <= high:
        raise ApiError(422, f"{name}: must be from {low} to {high}")
    return value


# Assessments


async def put_assessment(request: Request, hub: Hub, identity: Identity) -> Response:
    """Create or replace the assessment of a resource link (instructors)."""
    instructor(identity)
    body = await body_of(request)
    platform_id = id_of(body, "platform_id")
    if platform_id != identity.platform_id:
        raise ApiError(403, "platform_id: not the token's platform")
    threshold = body.get("mastery_threshold", 80)
    ai_config: Any = body.get("ai_config")
    spec = AssessmentSpec.from_config(
        assessment_type=body.get("assessment_type", ""),
        grading_schema=body.get("grading_schema", ""),
        mastery_threshold=threshold,
        ai_config=ai_config,
    )
    if spec.llm is not None:
        hub.providers.resolve(spec.llm)  # a provider and model of the operator's, or 422
    resource_link_id = id_of(body, "resource_link_id")
    if await hub.store.assessments.find(identity.platform_id, resource_link_id) is None:
        await room_for_another(hub, identity)
    config = await hub.store.assessments.upsert(
        tenant=identity.tenant,
        resource_link_id=resource_link_id,
        assessment_type=body["assessment_type"],
        grading_schema=body["grading_schema"],
        ai_config=body["ai_config"],
        created_by=identity.user_id,
        mastery_threshold=float(threshold),
    )
    return JSON(config_json(config, full=True))


async def room_for_another(hub: Hub, identity: Identity) -> None:
    """429 when the course already has the most assessments a course may have."""
    if await hub.store.assessments.count_in_course(identity.tenant) >= MAX_ASSESSMENTS_PER_COURSE:
        raise ApiError(429, f"a course has at most {MAX_ASSESSMENTS_PER_COURSE} assessments")


async def get_assessment(request: Request, hub: Hub, identity: Identity) -> Response:
    """An assessment of the token's course; its content (answers included) only for its
    instructors."""
    config = await assessment_of(request, hub, identity)
    return JSON(config_json(config, full=identity.is_instructor))


async def open_conversation(request: Request, hub: Hub, identity: Identity) -> Response:
    """The student's conversation of the assessment: the active one, else as its attempts
    policy says (the latest finished one, to read, or a new one, 201). With the body
    ``{"new_attempt": true}``, a new attempt unless one is active (429 when none is left)."""
    if not identity.is_learner:
        raise ApiError(403, "learners only")
    config = await assessment_of(request, hub, identity)
    new_attempt = False
    if await request.body():
        new_attempt = (await body_of(request)).get("new_attempt", False)
        if not isinstance(new_attempt, bool):
            raise ApiError(422, "new_attempt: must be true or false")
    conversation, created = await open_attempt(hub, config, identity, new_attempt=new_attempt)
    return JSON(_conversation(conversation), status_code=201 if created else 200)


async def list_attempts(request: Request, hub: Hub, identity: Identity) -> Response:
    """The student's attempts of the assessment, newest first, with what the policy lets
    them do next."""
    if not identity.is_learner:
        raise ApiError(403, "learners only")
    config = await assessment_of(request, hub, identity)
    spec = (await hub.tutor(config)).spec
    attempts = await hub.store.conversations.attempts(
        config.id, identity.user_id, identity.course_id
    )
    allowed = _attempts_allowed(hub, spec)
    active = any(attempt.status == "active" for attempt in attempts)
    return JSON(
        {
            "attempts": [_conversation(attempt) | _result(attempt, config) for attempt in attempts],
            "attempts_allowed": allowed,
            "new_attempt": spec.new_attempt,
            "can_start": config.archived_at is None and not active and len(attempts) < allowed,
        }
    )


async def open_attempt(
    hub: Hub, config: AssessmentConfig, identity: Identity, *, new_attempt: bool = False
) -> tuple[Conversation, bool]:
    """The learner's conversation of ``config`` as its attempts policy says, and whether
    it was made now: the active one; else, with ``new_attempt`` or under the ``automatic``
    policy, a new one while attempts remain; else the latest finished one.

    Raises:
        ApiError: 429, ``new_attempt`` and the learner has made the most allowed.
    """
    if config.archived_at is not None:
        return await _archived_attempt(hub, config, identity, new_attempt=new_attempt)
    spec = (await hub.tutor(config)).spec
    automatic = spec.new_attempt == "automatic"
    try:
        conversation, created = await hub.store.conversations.open_attempt(
            config.id,
            identity.user_id,
            identity.course_id,
            max_attempts=_attempts_allowed(hub, spec),
            new="always" if new_attempt or automatic else "if_none_open",
        )
    except TooManyAttempts as limit:
        if new_attempt or not automatic:
            raise ApiError(429, str(limit)) from None
        # Automatic, and none left: the latest finished attempt, to read.
        conversation, created = await hub.store.conversations.open_attempt(
            config.id, identity.user_id, identity.course_id, new="never"
        )
    if created:
        # The tutor speaks first: answer once its opening has started, so the first
        # hello finds it streaming or finished.
        runtime = await hub.runtime(conversation.id)
        with contextlib.suppress(TimeoutError):  # it will still come; answer anyway
            async with asyncio.timeout(OPENING_WAIT):
                await runtime.until_opened()
    return conversation, created


async def _archived_attempt(
    hub: Hub, config: AssessmentConfig, identity: Identity, *, new_attempt: bool
) -> tuple[Conversation, bool]:
    """An archived assessment's active or latest attempt; never a new one (409)."""
    closed = ApiError(409, "the assessment is archived: it takes no new attempts")
    try:
        conversation, _ = await hub.store.conversations.open_attempt(
            config.id, identity.user_id, identity.course_id, new="never"
        )
    except NotFound:
        raise closed from None
    if new_attempt and conversation.status != "active":
        raise closed
    return conversation, False


def _attempts_allowed(hub: Hub, spec: AssessmentSpec) -> int:
    """The assessment's own limit, within the server's."""
    server = hub.settings.max_conversations_per_user
    return server if spec.attempts_allowed is None else min(spec.attempts_allowed, server)


def _result(conversation: Conversation, config: AssessmentConfig) -> dict[str, Any]:
    return {
        "started_at": conversation.started_at,
        "completed_at": conversation.completed_at,
        "passed": passed(conversation, config),
    }


def passed(conversation: Conversation, config: AssessmentConfig) -> bool:
    """Whether an attempt passed: finished, at or above the assessment's threshold."""
    return (
        conversation.status != "active" and conversation.mastery_score >= config.mastery_threshold
    )


# Conversations


async def get_conversation(request: Request, hub: Hub, identity: Identity) -> Response:
    """A conversation, for its student or an instructor of its course."""
    conversation = await visible_conversation(request, hub, identity)
    return JSON(_conversation(conversation))


async def get_messages(request: Request, hub: Hub, identity: Identity) -> Response:
    """A page of a conversation's messages after ``after_seq``."""
    conversation = await visible_conversation(request, hub, identity)
    after = _int(request, "after_seq", 0, 0, 2**31)
    limit = _int(request, "limit", 100, 1, MAX_PAGE)
    messages = await hub.store.conversations.messages_after(conversation.id, after, limit)
    frames = [message_frame(m) for m in messages]
    return JSON({"messages": frames})


async def visible_conversation(request: Request, hub: Hub, identity: Identity) -> Conversation:
    """The conversation, for its student or an instructor of its course."""
    conversation_id = request.path_params["conversation_id"]
    conversation = await hub.store.conversations.get(conversation_id)
    if conversation.tenant != identity.tenant:
        raise NotFound(f"no conversation {conversation_id}")
    if identity.user_id != conversation.user_id and not identity.is_instructor:
        raise ApiError(403, "not your conversation")
    return conversation


async def assessment_of(request: Request, hub: Hub, identity: Identity) -> AssessmentConfig:
    """The assessment of the path, in the token's tenant."""
    assessment_id = request.path_params["assessment_id"]
    return await hub.store.assessments.get(assessment_id, tenant=identity.tenant)


# Courses


async def course_progress(request: Request, hub: Hub, identity: Identity) -> Response:
    """Every student's progress in the course (instructors of the course)."""
    instructor(identity, request.path_params["course_id"])
    progress = await hub.store.progress.for_course(identity.tenant)
    return JSON({"progress": progress})


async def course_analytics(request: Request, hub: Hub, identity: Identity) -> Response:
    """POST: compute and keep a snapshot; GET: the snapshots, newest first."""
    instructor(identity, request.path_params["course_id"])
    tenant = identity.tenant
    assignment = request.query_params.get("assignment_id")
    if request.method == "POST":
        data = await hub.store.analytics.compute(tenant, assignment)
        snapshot = await hub.store.analytics.write(tenant, data, assignment)
        return JSON(snapshot, status_code=201)
    snapshots = await hub.store.analytics.list(tenant, assignment)
    return JSON({"snapshots": snapshots})


def title_of(config: AssessmentConfig) -> str:
    """An assessment's title, or what it is when it has none."""
    title = (config.ai_config or {}).get("title")
    return str(title) if title else f"{config.assessment_type} assessment"


def config_json(config: AssessmentConfig, *, full: bool) -> dict[str, Any]:
    """An assessment as the API shows it; its content only ``full`` (to instructors)."""
    shown = dataclasses.asdict(config)
    if not full:
        title = (config.ai_config or {}).get("title")
        shown["ai_config"] = {"title": title} if title else {}
    return shown


def _conversation(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "status": conversation.status,
        "assessment_config_id": conversation.assessment_config_id,
        "user_id": conversation.user_id,
        "course_id": conversation.course_id,
        "mastery_score": conversation.mastery_score,
        "last_seq": conversation.last_seq,
    }


routes = [
    Route("/api/assessments", endpoint(put_assessment), methods=["PUT"]),
    Route("/api/assessments/{assessment_id}", endpoint(get_assessment), methods=["GET"]),
    Route(
        "/api/assessments/{assessment_id}/conversations",
        endpoint(open_conversation),
        methods=["POST"],
    ),
    Route("/api/assessments/{assessment_id}/attempts", endpoint(list_attempts), methods=["GET"]),
    Route("/api/conversations/{conversation_id}", endpoint(get_conversation), methods=["GET"]),
    Route("/api/conversations/{conversation_id}/messages", endpoint(get_messages), methods=["GET"]),
    Route("/api/courses/{course_id}/progress", endpoint(course_progress), methods=["GET"]),
    Route(
        "/api/courses/{course_id}/analytics",
        endpoint(course_analytics),
        methods=["GET", "POST"],
    ),
]
