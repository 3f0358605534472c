"""The attempts policy on a real server: a finished attempt stays open to read until the
student asks for a new one (or, ``automatic``, the next opening starts one), within the
assessment's ``attempts_allowed`` and the server's limit; the student's attempts listed
with their results."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.harness import Client, Running, api, create_assessment, of_type
from tests.realtime.test_session_e2e import FILL_BLANK


async def _finish(run: Running, conversation: str, answer: str = "Paris") -> None:
    """Answer the first item, then end the attempt."""
    client = await Client.connect(run, conversation, run.token("student-1"))
    await client.until(of_type("welcome"))
    await client.send({"type": "send", "client_msg_id": "a1", "content": answer})
    await client.until(of_type("ack"))
    await client.send({"type": "complete"})
    await client.until(of_type("completed"))
    await client.close()


async def _open(run: Running, assessment: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    response = await api(
        run, "POST", f"/api/assessments/{assessment}/conversations", run.token("student-1"), body
    )
    return response.status_code, response.json()


async def _attempts(run: Running, assessment: str) -> dict[str, Any]:
    response = await api(
        run, "GET", f"/api/assessments/{assessment}/attempts", run.token("student-1")
    )
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = response.json()
    return listed


async def test_a_finished_attempt_opens_again_until_a_new_one_is_asked_for(
    run: Running,
) -> None:
    assessment = await create_assessment(
        run, "fill_blank", "mastery", FILL_BLANK | {"attempts_allowed": 2}
    )
    status, first = await _open(run, assessment)
    assert status == 201
    await _finish(run, first["id"])

    status, again = await _open(run, assessment)
    assert (status, again["id"], again["status"]) == (200, first["id"], "completed")
    listed = await _attempts(run, assessment)
    assert (listed["attempts_allowed"], listed["new_attempt"], listed["can_start"]) == (
        2,
        "on_request",
        True,
    )
    (only,) = listed["attempts"]
    assert (only["id"], only["status"], only["passed"]) == (first["id"], "completed", False)
    assert only["completed_at"] is not None

    status, second = await _open(run, assessment, {"new_attempt": True})
    assert status == 201 and second["id"] != first["id"]
    # While one is active, asking again opens that one: a second tab makes no third.
    status, same = await _open(run, assessment, {"new_attempt": True})
    assert (status, same["id"]) == (200, second["id"])
    listed = await _attempts(run, assessment)
    assert [a["id"] for a in listed["attempts"]] == [second["id"], first["id"]]
    assert listed["can_start"] is False

    await _finish(run, second["id"])
    status, refused = await _open(run, assessment, {"new_attempt": True})
    assert (status, refused) == (429, {"error": "at most 2 attempts of this assessment"})
    assert (await _attempts(run, assessment))["can_start"] is False


async def test_the_automatic_policy_starts_the_next_attempt_on_opening(run: Running) -> None:
    assessment = await create_assessment(
        run,
        "fill_blank",
        "mastery",
        FILL_BLANK | {"attempts_allowed": 2, "new_attempt": "automatic"},
    )
    _, first = await _open(run, assessment)
    await _finish(run, first["id"])
    status, second = await _open(run, assessment)
    assert status == 201 and second["id"] != first["id"]
    await _finish(run, second["id"])
    # None left: the latest finished attempt, to read.
    status, latest = await _open(run, assessment)
    assert (status, latest["id"]) == (200, second["id"])


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"attempts_allowed": 0}, "ai_config.attempts_allowed: must be a whole number"),
        ({"attempts_allowed": True}, "ai_config.attempts_allowed: must be a whole number"),
        ({"new_attempt": "sometimes"}, "ai_config.new_attempt: must be one of on_request"),
    ],
)
async def test_a_wrong_policy_is_refused_naming_the_field(
    run: Running, change: dict[str, Any], error: str
) -> None:
    response = await api(
        run,
        "PUT",
        "/api/assessments",
        run.token("teacher", "course-1", "Instructor"),
        {
            "platform_id": "lms",
            "resource_link_id": "link-policy",
            "assessment_type": "fill_blank",
            "grading_schema": "mastery",
            "ai_config": FILL_BLANK | change,
        },
    )
    assert response.status_code == 422
    assert response.json()["error"].startswith(error)


@pytest.mark.parametrize("body", [{"new_attempt": "yes"}, {"new_attempt": 1}])
async def test_a_wrong_new_attempt_field_is_422(run: Running, body: dict[str, Any]) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    status, answer = await _open(run, assessment, body)
    assert (status, answer) == (422, {"error": "new_attempt: must be true or false"})
