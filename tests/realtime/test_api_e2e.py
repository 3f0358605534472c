"""The HTTP API on a real server: auth, roles, validation, and every route."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from realtime.settings import Settings
from tests.assessment.fake_llm import FakeLLM
from tests.realtime.harness import (
    Client,
    Running,
    api,
    create_assessment,
    of_type,
    open_conversation,
    running,
    wait_opening,
)
from tests.realtime.test_session_e2e import FILL_BLANK

BODY = {
    "platform_id": "lms",
    "resource_link_id": "link-api",
    "assessment_type": "fill_blank",
    "grading_schema": "mastery",
    "ai_config": FILL_BLANK,
}


def _teacher(run: Running, course: str = "course-1") -> str:
    return run.token("teacher", course, "Instructor")


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"assessment_type": "essay"}, 422, "assessment_type: must be one of"),
        ({"grading_schema": None}, 422, "grading_schema: must be one of"),
        ({"mastery_threshold": 101}, 422, "mastery_threshold: must be a number from 0 to 100"),
        ({"ai_config": None}, 422, "ai_config: must be an object"),
        (
            {"ai_config": {"items": [{"id": "x", "text": "no blank", "answers": ["a"]}]}},
            422,
            "ai_config.items[0].text: must hold the blank as ___",
        ),
        ({"resource_link_id": ""}, 422, "resource_link_id: must be a non-empty string"),
        ({"platform_id": "other"}, 403, "platform_id: not the token's platform"),
    ],
)
async def test_invalid_assessments_are_refused_naming_the_field(
    run: Running, change: dict[str, Any], status: int, error: str
) -> None:
    """A bad body gets 422 (or 403) and a message that starts with the field."""
    response = await api(run, "PUT", "/api/assessments", _teacher(run), BODY | change)
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


async def test_authentication_and_roles(run: Running) -> None:
    """No token or a bad one is 401; a learner may not configure; malformed JSON is 400."""
    assert (await api(run, "PUT", "/api/assessments", None, BODY)).status_code == 401
    assert (await api(run, "PUT", "/api/assessments", "nope", BODY)).status_code == 401
    learner = await api(run, "PUT", "/api/assessments", run.token("s1"), BODY)
    assert (learner.status_code, learner.json()) == (403, {"error": "instructors only"})
    async with httpx.AsyncClient(base_url=run.base_url) as client:
        broken = await client.put(
            "/api/assessments",
            content=b"{not json",
            headers={"authorization": f"Bearer {_teacher(run)}"},
        )
    assert (broken.status_code, broken.json()) == (400, {"error": "the body is not JSON"})


async def test_upsert_then_read_an_assessment(run: Running) -> None:
    """PUT twice keeps the id; instructors read everything, learners no answers."""
    first = (await api(run, "PUT", "/api/assessments", _teacher(run), BODY)).json()
    second = await api(
        run, "PUT", "/api/assessments", _teacher(run), BODY | {"mastery_threshold": 50}
    )
    assert second.json()["id"] == first["id"] and second.json()["mastery_threshold"] == 50
    path = f"/api/assessments/{first['id']}"
    assert (await api(run, "GET", path, _teacher(run))).json()["ai_config"] == FILL_BLANK
    assert (await api(run, "GET", path, run.token("s1"))).json()["ai_config"] == {}
    assert (await api(run, "GET", "/api/assessments/nope", _teacher(run))).status_code == 404


async def test_conversations_are_opened_once_and_shown_to_whom_they_belong(run: Running) -> None:
    """POST creates (201) then finds (200); the student and course instructors may read."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    path = f"/api/assessments/{assessment}/conversations"
    created = await api(run, "POST", path, run.token("s1"))
    again = await api(run, "POST", path, run.token("s1"))
    assert (created.status_code, again.status_code) == (201, 200)
    body = created.json()
    assert body == again.json() | {"last_seq": body["last_seq"]}
    assert set(body) == {
        "id",
        "status",
        "assessment_config_id",
        "user_id",
        "course_id",
        "mastery_score",
        "last_seq",
    }
    assert (await api(run, "POST", path, _teacher(run))).status_code == 403
    assert (
        await api(run, "POST", "/api/assessments/nope/conversations", run.token("s1"))
    ).status_code == 404
    own = f"/api/conversations/{body['id']}"
    assert (await api(run, "GET", own, run.token("s1"))).status_code == 200
    assert (await api(run, "GET", own, _teacher(run))).status_code == 200
    assert (await api(run, "GET", own, run.token("s2"))).status_code == 403
    # Another course's conversation is not theirs to know of.
    assert (await api(run, "GET", own, _teacher(run, "course-2"))).status_code == 404


async def test_messages_page_by_seq(run: Running) -> None:
    """after_seq and limit page through the history; bad values are 422."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment, "s1")
    await wait_opening(run, conversation, "s1")
    client = await Client.connect(run, conversation, run.token("s1"), last_seq=1)
    await client.until(of_type("welcome"))
    for n, answer in enumerate(["Lyon", "Paris"]):
        await client.send({"type": "send", "client_msg_id": f"c{n}", "content": answer})
        await client.until(of_type("assistant.end"))
    base = f"/api/conversations/{conversation}/messages"
    everything = (await api(run, "GET", base, run.token("s1"))).json()["messages"]
    assert [m["seq"] for m in everything] == [1, 2, 3, 4, 5]
    assert everything[1]["client_msg_id"] == "c0" and everything[1]["role"] == "user"
    page = (await api(run, "GET", f"{base}?after_seq=2&limit=2", run.token("s1"))).json()
    assert [m["seq"] for m in page["messages"]] == [3, 4]
    for query in ("limit=0", "limit=5000", "after_seq=x"):
        assert (await api(run, "GET", f"{base}?{query}", run.token("s1"))).status_code == 422
    # Past every seq the column can hold: an empty page, on PostgreSQL too.
    beyond = await api(run, "GET", f"{base}?after_seq={2**31}", run.token("s1"))
    assert (beyond.status_code, beyond.json()) == (200, {"messages": []})


async def test_nul_is_refused_in_bodies_paths_and_queries(run: Running) -> None:
    """422 with a message, never a database error (PostgreSQL refuses NUL in text)."""
    teacher = _teacher(run)
    body = BODY | {"resource_link_id": "link\x00nul"}
    refused = await api(run, "PUT", "/api/assessments", teacher, body)
    assert (refused.status_code, refused.json()) == (
        422,
        {"error": "the body must not contain NUL"},
    )
    nested = BODY | {"ai_config": {"items": [{"id": "i\x00", "text": "___", "answers": ["a"]}]}}
    assert (await api(run, "PUT", "/api/assessments", teacher, nested)).status_code == 422
    path = await api(run, "GET", "/api/conversations/ab%00cd", run.token("s1"))
    assert (path.status_code, path.json()) == (
        422,
        {"error": "path parameters must not contain NUL"},
    )
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment, "s1")
    query = await api(run, "GET", f"/api/conversations/{conversation}/messages?x=%00", teacher)
    assert query.status_code == 422


async def test_progress_and_analytics_for_instructors_of_the_course(run: Running) -> None:
    """Progress and analytics snapshots are for the course's instructors."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment, "s1")
    client = await Client.connect(run, conversation, run.token("s1"))
    await client.until(of_type("welcome"))
    await client.send({"type": "complete"})
    await client.until(of_type("completed"))
    progress = await api(run, "GET", "/api/courses/course-1/progress", _teacher(run))
    assert [p["user_id"] for p in progress.json()["progress"]] == ["s1"]
    assert (
        await api(run, "GET", "/api/courses/course-1/progress", run.token("s1"))
    ).status_code == 403
    assert (
        await api(run, "GET", "/api/courses/course-1/progress", _teacher(run, "course-2"))
    ).status_code == 403
    snapshot = await api(
        run, "POST", f"/api/courses/course-1/analytics?assignment_id={assessment}", _teacher(run)
    )
    assert snapshot.status_code == 201
    data = snapshot.json()["snapshot_data"]
    assert (data["attempts"], data["completed"], data["completion_rate"]) == (1, 1, 1.0)
    assert data["mastery_distribution"]["0-20"] == 1
    history = (await api(run, "GET", "/api/courses/course-1/analytics", _teacher(run))).json()
    assert len(history["snapshots"]) == 1


async def test_generated_content_is_created_reviewed_and_listed(run: Running) -> None:
    """Generation makes unapproved content; approval and rejection flip it."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    base = f"/api/assessments/{assessment}/content"
    source = "Photosynthesis is the process by which plants make sugar from light."
    made = await api(run, "POST", base, _teacher(run), {"source": source, "count": 3})
    assert made.status_code == 201
    content = made.json()
    assert content["approved"] is False and content["content"]["items"]
    assert (
        await api(run, "POST", base, _teacher(run), {"source": source, "kind": "essay"})
    ).status_code == 422
    assert (await api(run, "POST", base, run.token("s1"), {"source": source})).status_code == 403
    approve = await api(run, "POST", f"{base}/{content['content_hash']}/approve", _teacher(run))
    assert approve.json()["approved"] is True
    reject = await api(run, "POST", f"{base}/{content['content_hash']}/reject", _teacher(run))
    assert reject.json()["approved"] is False
    assert (
        await api(run, "POST", f"{base}/{content['content_hash']}/maybe", _teacher(run))
    ).status_code == 404
    listed = (await api(run, "GET", base, _teacher(run))).json()["content"]
    assert [c["content_hash"] for c in listed] == [content["content_hash"]]


async def test_health_and_metrics(run: Running) -> None:
    """/healthz answers ok; /metrics is Prometheus text with the server's series."""
    async with httpx.AsyncClient(base_url=run.base_url) as client:
        health = await client.get("/healthz")
        metrics = await client.get("/metrics")
    assert health.json() == {"status": "ok"}
    text = metrics.text
    for name in (
        "tutorchat_open_sockets",
        "tutorchat_turns_total",
        "tutorchat_replies_in_flight",
        "tutorchat_replay_messages_bucket",
        "tutorchat_slow_consumer_closes_total",
        "tutorchat_ack_latency_seconds_bucket",
        "tutorchat_first_delta_latency_seconds_bucket",
        "tutorchat_turn_write_transactions_total",
        "tutorchat_turn_writes_total",
    ):
        assert name in text


async def test_approved_content_joins_conversations_opened_after(run: Running) -> None:
    """Once approved, generated items are part of new conversations' assessments."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    base = f"/api/assessments/{assessment}/content"
    source = "Photosynthesis is the process by which plants make sugar from light."
    made = (await api(run, "POST", base, _teacher(run), {"source": source})).json()
    await api(run, "POST", f"{base}/{made['content_hash']}/approve", _teacher(run))
    conversation = await open_conversation(run, assessment, "s9")
    client = await Client.connect(run, conversation, run.token("s9"))
    await client.until(of_type("welcome"))
    await client.send({"type": "send", "client_msg_id": "c1", "content": "Paris"})
    progress = (await client.until(of_type("progress")))[-1]
    assert progress["items_total"] == len(FILL_BLANK["items"]) + len(made["content"]["items"])


CHAT_OBJECTIVES = [{"id": "o1", "question": "What does photosynthesis make?", "key_points": ["x"]}]


@pytest.mark.parametrize(
    ("llm_config", "error"),
    [
        (
            {"base_url": "EXFILTRATE", "model": "tutor-1", "api_key_env": "TUTORCHAT_SECRET"},
            "ai_config.llm.base_url: not a field of an assessment",
        ),
        (
            {"provider": "fake", "model": "tutor-1", "api_key_env": "DATABASE_URL"},
            "ai_config.llm.api_key_env: not a field of an assessment",
        ),
        ({"provider": "elsewhere", "model": "tutor-1"}, "ai_config.llm.provider: no provider"),
        ({"provider": "fake", "model": "gpt-5"}, "ai_config.llm.model: 'gpt-5' is not a model"),
    ],
)
async def test_an_instructor_cannot_send_requests_or_secrets_anywhere(
    run: Running, llm: FakeLLM, llm_config: dict[str, Any], error: str
) -> None:
    """An assessment's llm names the operator's provider and model, nothing else: an
    endpoint or a key variable is refused (422), and nothing is sent anywhere."""
    llm_config = {
        key: f"{llm.base_url}" if value == "EXFILTRATE" else value
        for key, value in llm_config.items()
    }
    body = BODY | {
        "assessment_type": "chat",
        "ai_config": {"objectives": CHAT_OBJECTIVES, "llm": llm_config},
    }
    refused = await api(run, "PUT", "/api/assessments", _teacher(run), body)
    assert refused.status_code == 422
    assert refused.json()["error"].startswith(error)
    assert llm.requests == []


async def test_every_answer_carries_the_security_headers(run: Running) -> None:
    """nosniff, no referrer, and a policy: nothing at all for data, this server's own
    resources for a page; never framed."""
    async with httpx.AsyncClient(base_url=run.base_url) as client:
        for path in ("/healthz", "/api/assessments/nope", "/widget/tutorchat.js"):
            response = await client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["referrer-policy"] == "no-referrer", path
            policy = response.headers["content-security-policy"]
            assert policy == "default-src 'none'; frame-ancestors 'none'", path


async def test_a_body_over_the_limit_is_refused_with_413(settings: Settings) -> None:
    """By its Content-Length at once, or once that many bytes came in chunks; nothing is
    stored either way."""
    async with running(dataclasses.replace(settings, max_body_bytes=1000)) as small:
        teacher = _teacher(small)
        big = BODY | {"ai_config": FILL_BLANK | {"title": "x" * 2000}}
        refused = await api(small, "PUT", "/api/assessments", teacher, big)
        assert (refused.status_code, refused.json()) == (
            413,
            {"error": "the body is over 1000 bytes"},
        )

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b" " * 100

        async with httpx.AsyncClient(base_url=small.base_url) as client:
            streamed = await client.put(
                "/api/assessments",
                content=chunks(),
                headers={"authorization": f"Bearer {teacher}"},
            )
        assert streamed.status_code == 413
        assert (await api(small, "PUT", "/api/assessments", teacher, BODY)).status_code == 200


async def test_ids_past_their_length_and_oversized_generation_are_422(run: Running) -> None:
    """Ids are at most 255 characters (PostgreSQL indexes them); content generation takes
    at most 100,000 characters of source and 100 terms."""
    teacher = _teacher(run)
    long_link = await api(
        run, "PUT", "/api/assessments", teacher, BODY | {"resource_link_id": "r" * 256}
    )
    assert (long_link.status_code, long_link.json()["error"]) == (
        422,
        "resource_link_id: must be at most 255 characters",
    )
    path = await api(run, "GET", f"/api/conversations/{'c' * 256}", teacher)
    assert path.status_code == 422
    query = await api(
        run, "GET", f"/api/courses/course-1/analytics?assignment_id={'a' * 256}", teacher
    )
    assert query.status_code == 422
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    content = f"/api/assessments/{assessment}/content"
    big = await api(run, "POST", content, teacher, {"source": "word " * 25_000})
    assert big.json()["error"] == "source: must be at most 100000 characters"
    many = await api(run, "POST", content, teacher, {"source": "x y z w.", "terms": ["t"] * 101})
    assert many.status_code == 422


async def test_the_routers_refusals_are_json(run: Running) -> None:
    """No such route, an id that decodes to a slash, a wrong method: JSON errors too."""
    token = run.token("student-1")
    for method, path, status in [
        ("GET", "/api/nope", 404),
        ("GET", "/api/assessments/%2F", 404),
        ("DELETE", "/api/assessments", 405),
    ]:
        response = await api(run, method, path, token)
        assert response.status_code == status
        assert "error" in response.json()
