"""Who may do what, on every route and the WebSocket: one table, checked whole.

The tenant is (platform ``lms``, course ``course-1``). Its instructor made an assessment,
and its student ``s1`` (the owner) has a completed conversation, a progress row, a
snapshot and generated content; the operator's admin API is on. Every other identity is
a neighbour an attacker could be. Each cell of ``EXPECTED`` is the outcome of one route
for one identity:

- ``ok``: answered (200 or 201) with the tenant's data; ``redacted``: the assessment
  without its content (no answers); ``empty``: answered with none of the tenant's data
  (another tenant's view of its own, empty, course);
- ``401``, ``403``, ``404``: refused with that status (404: the row is another tenant's,
  not theirs to know of);
- on the socket: ``student`` (joined, may send), ``observer`` (joined, read only), or
  the close code ``4401``, ``4403``, ``4404``.

It runs on SQLite and PostgreSQL; any cell that differs fails the test, and the message
lists every differing cell.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import websockets

from realtime.auth import mint
from tests.limits import TIMEOUT
from tests.realtime.harness import Client, Running, api, of_type
from tests.realtime.test_session_e2e import FILL_BLANK

IDENTITIES = (
    "owner",
    "classmate",
    "same sub, other platform",
    "instructor",
    "instructor, other course",
    "instructor, other platform",
    "demo visitor",
    "foreign secret",
)

# route -> the outcome for each identity, in the order of IDENTITIES.
EXPECTED: dict[str, tuple[str, ...]] = {
    "PUT /api/assessments": ("403", "403", "403", "ok", "403", "403", "403", "401"),
    "GET /api/assessments/{a}": (
        "redacted", "redacted", "404", "ok", "404", "404", "404", "401",
    ),
    # Before the classmate opens an attempt of their own below: they see none of the owner's.
    "GET /api/assessments/{a}/attempts": (
        "ok", "empty", "404", "403", "403", "403", "404", "401",
    ),
    "POST /api/assessments/{a}/conversations": (
        "ok", "ok", "404", "403", "403", "403", "404", "401",
    ),
    "GET /api/conversations/{c}": ("ok", "403", "404", "ok", "404", "404", "404", "401"),
    "GET /api/conversations/{c}/messages": (
        "ok", "403", "404", "ok", "404", "404", "404", "401",
    ),
    "GET /api/courses/course-1/progress": (
        "403", "403", "403", "ok", "403", "empty", "403", "401",
    ),
    "GET /api/courses/course-1/analytics": (
        "403", "403", "403", "ok", "403", "empty", "403", "401",
    ),
    "POST /api/courses/course-1/analytics": (
        "403", "403", "403", "ok", "403", "empty", "403", "401",
    ),
    "POST /api/assessments/{a}/content": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "GET /api/assessments/{a}/content": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "POST /api/assessments/{a}/content/{h}/approve": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "POST /api/assessments/{a}/preview": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "WS /ws/conversations/{c}": (
        "student", "4403", "4404", "observer", "4404", "4404", "4404", "4401",
    ),
    "GET /api/assessments/{a}/grades": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    # The tenant's assessment was not placed by an LTI launch: it has no roster (409).
    "GET /api/assessments/{a}/roster": (
        "403", "403", "403", "409", "404", "404", "403", "401",
    ),
    # LTI: the key set is public; a user's token is no platform's id_token, opens no
    # login, and is never the operator's admin key.
    "GET /lti/jwks": ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    "GET /lti/login": ("400", "400", "400", "400", "400", "400", "400", "400"),
    "POST /lti/launch": ("400", "400", "400", "400", "400", "400", "400", "400"),
    "POST /lti/deep-link": ("400", "400", "400", "400", "400", "400", "400", "400"),
    "POST /lti/launch/confirm": ("400", "400", "400", "400", "400", "400", "400", "400"),
    "GET /api/admin/lti/platforms": ("401", "401", "401", "401", "401", "401", "401", "401"),
    "POST /api/admin/lti/platforms": ("401", "401", "401", "401", "401", "401", "401", "401"),
    "POST /api/admin/lti/platforms/{p}/deployments": (
        "401", "401", "401", "401", "401", "401", "401", "401",
    ),
    "DELETE /api/admin/lti/platforms/{p}": (
        "401", "401", "401", "401", "401", "401", "401", "401",
    ),
    "POST /api/admin/lti/keys": ("401", "401", "401", "401", "401", "401", "401", "401"),
    "POST /api/admin/lti/registrations": (
        "401", "401", "401", "401", "401", "401", "401", "401",
    ),
    "GET /lti/register": ("400", "400", "400", "400", "400", "400", "400", "400"),
    # The instructor console's routes.
    "GET /api/courses/course-1/assessments": (
        "403", "403", "403", "ok", "403", "empty", "403", "401",
    ),
    "GET /api/llm-providers": ("403", "403", "403", "ok", "ok", "ok", "403", "401"),
    "GET /api/courses/course-1/students/s1": (
        "403", "403", "403", "ok", "403", "empty", "403", "401",
    ),
    "GET /api/assessments/{a}/results": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "POST /api/conversations/{c}/score": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "PUT /api/assessments/{a}/content/{h}": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "POST /api/assessments/{a}/clone": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    # Last: the tenant's assessment archived, then open again.
    "POST /api/assessments/{a}/archive": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
    "POST /api/assessments/{a}/restore": (
        "403", "403", "403", "ok", "404", "404", "403", "401",
    ),
}  # fmt: skip

MATRIX_ITEM = {"id": "m1", "text": "Paris is the capital of ___.", "answers": ["France"]}
SOURCE = "Paris is the capital of **France**. Water boils at **100** degrees."


@dataclass
class Tenant:
    """The rows of the tenant under attack."""

    assessment: str
    conversation: str
    content_hash: str


def _tokens(run: Running) -> dict[str, str]:
    foreign = "a-secret-this-server-never-had-" + "f" * 32
    return {
        "owner": run.token("s1"),
        "classmate": run.token("s2"),
        "same sub, other platform": run.token("s1", platform="other-lms"),
        "instructor": run.token("teacher", "course-1", "Instructor"),
        "instructor, other course": run.token("teacher-2", "course-2", "Instructor"),
        "instructor, other platform": run.token(
            "teacher", "course-1", "Instructor", platform="other-lms"
        ),
        "demo visitor": run.token("visitor-1", "demo-course", platform="demo"),
        "foreign secret": mint(foreign, user_id="s1", course_id="course-1", platform_id="lms"),
    }


ASSESSMENT = {
    "platform_id": "lms",
    "resource_link_id": "matrix-link",
    "assessment_type": "fill_blank",
    "grading_schema": "mastery",
    "ai_config": FILL_BLANK,
}


async def _tenant(run: Running, tokens: dict[str, str]) -> Tenant:
    """The tenant's assessment, the owner's completed conversation, its progress, a
    snapshot and generated content."""
    teacher = tokens["instructor"]
    assessment = (await api(run, "PUT", "/api/assessments", teacher, ASSESSMENT)).json()["id"]
    opened = await api(run, "POST", f"/api/assessments/{assessment}/conversations", tokens["owner"])
    conversation = opened.json()["id"]
    client = await Client.connect(run, conversation, tokens["owner"])
    await client.until(of_type("welcome"))
    await client.send({"type": "send", "client_msg_id": "t1", "content": "Paris"})
    await client.until(of_type("ack"))
    await client.send({"type": "complete"})
    await client.until(of_type("completed"))
    await client.close()
    await api(run, "POST", "/api/courses/course-1/analytics", teacher)
    content = await api(
        run, "POST", f"/api/assessments/{assessment}/content", teacher, {"source": SOURCE}
    )
    return Tenant(assessment, conversation, content.json()["content_hash"])


def _outcome(response: httpx.Response, seen: Callable[[Any], str]) -> str:
    if response.status_code in (200, 201):
        return seen(response.json())
    return str(response.status_code)


def _assessment_seen(body: Any) -> str:
    return "ok" if body["ai_config"].get("items") else "redacted"


def _progress_seen(body: Any) -> str:
    return "ok" if any(p["user_id"] == "s1" for p in body["progress"]) else "empty"


def _student_seen(body: Any) -> str:
    return "ok" if body["attempts"] else "empty"


def _assessments_seen(body: Any) -> str:
    return "ok" if body["assessments"] else "empty"


def _snapshots_seen(body: Any) -> str:
    return "ok" if any(s["snapshot_data"]["attempts"] for s in body["snapshots"]) else "empty"


def _snapshot_seen(body: Any) -> str:
    return "ok" if body["snapshot_data"]["attempts"] else "empty"


def _any(_body: Any) -> str:
    return "ok"


def _attempts_seen(body: Any) -> str:
    """The student's own attempts: the owner's one, or none for a classmate."""
    return "ok" if body["attempts"] else "empty"


Probe = Callable[[Running, Tenant, str], Awaitable[str]]


def _http(method: str, path: str, seen: Callable[[Any], str], body: Any = None) -> Probe:
    async def probe(run: Running, tenant: Tenant, token: str) -> str:
        concrete = path.format(a=tenant.assessment, c=tenant.conversation, h=tenant.content_hash)
        return _outcome(await api(run, method, concrete, token, body), seen)

    return probe


async def _socket(run: Running, tenant: Tenant, token: str) -> str:
    client = await Client.connect(run, tenant.conversation, token)
    try:
        await client.until(of_type("welcome"))
    except websockets.ConnectionClosed as closed:
        return str(closed.rcvd.code if closed.rcvd is not None else None)
    # Read only, or may act: a cancel of no reply is unknown_message, or not_allowed.
    await client.send({"type": "cancel", "message_id": "none"})
    error = (await client.until(of_type("error")))[-1]
    await client.close()
    return "observer" if error["code"] == "not_allowed" else "student"


def _lti(method: str, path: str) -> Probe:
    """An LTI route, the identity's token sent as the bearer, as the id_token and as a
    deep linking choice's context."""

    async def probe(run: Running, tenant: Tenant, token: str) -> str:
        async with httpx.AsyncClient(base_url=run.base_url, timeout=TIMEOUT) as client:
            response = await client.request(
                method,
                path,
                headers={"authorization": f"Bearer {token}"},
                data=(
                    {
                        "id_token": token,
                        "state": "made-up",
                        "context": token,
                        "code": token,
                        "assessment": "new",
                    }
                    if method == "POST"
                    else None
                ),
            )
        return "ok" if response.status_code == 200 else str(response.status_code)

    return probe


PROBES: dict[str, Probe] = {
    "PUT /api/assessments": _http("PUT", "/api/assessments", _any, ASSESSMENT),
    "GET /api/assessments/{a}": _http("GET", "/api/assessments/{a}", _assessment_seen),
    "POST /api/assessments/{a}/conversations": _http(
        "POST", "/api/assessments/{a}/conversations", _any
    ),
    "GET /api/assessments/{a}/attempts": _http(
        "GET", "/api/assessments/{a}/attempts", _attempts_seen
    ),
    "GET /api/conversations/{c}": _http("GET", "/api/conversations/{c}", _any),
    "GET /api/conversations/{c}/messages": _http("GET", "/api/conversations/{c}/messages", _any),
    "GET /api/courses/course-1/progress": _http(
        "GET", "/api/courses/course-1/progress", _progress_seen
    ),
    "GET /api/courses/course-1/analytics": _http(
        "GET", "/api/courses/course-1/analytics", _snapshots_seen
    ),
    "POST /api/courses/course-1/analytics": _http(
        "POST", "/api/courses/course-1/analytics", _snapshot_seen
    ),
    "POST /api/assessments/{a}/content": _http(
        "POST", "/api/assessments/{a}/content", _any, {"source": SOURCE}
    ),
    "GET /api/assessments/{a}/content": _http("GET", "/api/assessments/{a}/content", _any),
    "POST /api/assessments/{a}/content/{h}/approve": _http(
        "POST", "/api/assessments/{a}/content/{h}/approve", _any
    ),
    "POST /api/assessments/{a}/preview": _http(
        "POST", "/api/assessments/{a}/preview", _any, {"item_id": "i1", "answers": ["Paris"]}
    ),
    "WS /ws/conversations/{c}": _socket,
    "GET /api/assessments/{a}/grades": _http("GET", "/api/assessments/{a}/grades", _any),
    "GET /api/assessments/{a}/roster": _http("GET", "/api/assessments/{a}/roster", _any),
    "GET /lti/jwks": _http("GET", "/lti/jwks", _any),
    "GET /lti/login": _lti(
        "GET", "/lti/login?iss=lms&login_hint=s1&target_link_uri=http%3A%2F%2F127.0.0.1%2F"
    ),
    "POST /lti/launch": _lti("POST", "/lti/launch"),
    "POST /lti/deep-link": _lti("POST", "/lti/deep-link"),
    "POST /lti/launch/confirm": _lti("POST", "/lti/launch/confirm"),
    "GET /api/admin/lti/platforms": _http("GET", "/api/admin/lti/platforms", _any),
    "POST /api/admin/lti/platforms": _http(
        "POST", "/api/admin/lti/platforms", _any, {"issuer": "https://lms.example"}
    ),
    "POST /api/admin/lti/platforms/{p}/deployments": _http(
        "POST", "/api/admin/lti/platforms/lms/deployments", _any, {"deployment_id": "d"}
    ),
    "DELETE /api/admin/lti/platforms/{p}": _http("DELETE", "/api/admin/lti/platforms/lms", _any),
    "POST /api/admin/lti/keys": _http("POST", "/api/admin/lti/keys", _any),
    "POST /api/admin/lti/registrations": _http("POST", "/api/admin/lti/registrations", _any),
    "GET /lti/register": _lti("GET", "/lti/register?openid_configuration=http://127.0.0.1:9/"),
    "GET /api/courses/course-1/assessments": _http(
        "GET", "/api/courses/course-1/assessments", _assessments_seen
    ),
    "GET /api/llm-providers": _http("GET", "/api/llm-providers", _any),
    "GET /api/courses/course-1/students/s1": _http(
        "GET", "/api/courses/course-1/students/s1", _student_seen
    ),
    "GET /api/assessments/{a}/results": _http("GET", "/api/assessments/{a}/results", _any),
    "POST /api/conversations/{c}/score": _http(
        "POST", "/api/conversations/{c}/score", _any, {"score": 50, "reason": "matrix"}
    ),
    "PUT /api/assessments/{a}/content/{h}": _http(
        "PUT", "/api/assessments/{a}/content/{h}", _any, {"items": [MATRIX_ITEM]}
    ),
    "POST /api/assessments/{a}/clone": _http("POST", "/api/assessments/{a}/clone", _any),
    "POST /api/assessments/{a}/archive": _http("POST", "/api/assessments/{a}/archive", _any),
    "POST /api/assessments/{a}/restore": _http("POST", "/api/assessments/{a}/restore", _any),
}


async def test_every_route_answers_every_identity_as_the_table_says(run: Running) -> None:
    """The whole matrix, on this engine: every cell as expected."""
    assert set(PROBES) == set(EXPECTED)
    tokens = _tokens(run)
    tenant = await _tenant(run, tokens)
    differing = []
    for route, expected in EXPECTED.items():
        for identity, want in zip(IDENTITIES, expected, strict=True):
            got = await PROBES[route](run, tenant, tokens[identity])
            if got != want:
                differing.append(f"{route} as {identity}: expected {want}, got {got}")
    assert differing == []
