"""The course roster from a real platform (LTI NRPS): an instructor sees each learner of
the course and where they stand, those who have not started included."""

from __future__ import annotations

from tests.lti.flow import launch
from tests.lti.platform import INSTRUCTOR, LEARNER, LaunchSpec, PeerPlatform
from tests.lti.test_grades_e2e import set_up, take
from tests.realtime.harness import Running, api

MEMBERS = [
    {"user_id": "student-1", "roles": [LEARNER], "name": "Ada Lovelace", "status": "Active"},
    {"user_id": "student-2", "roles": [LEARNER], "name": "Alan Turing", "status": "Active"},
    {"user_id": "student-3", "roles": [LEARNER], "name": "Grace Hopper", "status": "Active"},
    {"user_id": "teacher-1", "roles": [INSTRUCTOR], "name": "Teacher", "status": "Active"},
    {"user_id": "student-4", "roles": [LEARNER], "name": "Gone", "status": "Deleted"},
]
ROSTER = "https://platform.invalid/memberships"


async def test_the_roster_shows_who_has_not_started(tool: Running, platform: PeerPlatform) -> None:
    platform.members = MEMBERS
    placed = await set_up(tool, platform)
    memberships = platform.url + "/memberships"
    teacher = LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR], memberships_url=memberships)
    await launch(tool.base_url, platform, teacher)  # the link's launch offers the roster
    await take(tool, platform, "student-1", ["Paris", "4"])
    await launch(tool.base_url, platform, LaunchSpec(user_id="student-2", grades=True))
    response = await api(
        tool, "GET", f"/api/assessments/{placed.assessment}/roster", placed.teacher
    )
    assert response.status_code == 200, response.text
    body = response.json()
    by_user = {learner["user_id"]: learner for learner in body["learners"]}
    assert set(by_user) == {"student-1", "student-2", "student-3"}  # learners, active
    assert (by_user["student-1"]["status"], by_user["student-1"]["mastery_score"]) == (
        "completed",
        100,
    )
    assert by_user["student-2"]["status"] == "active"
    assert by_user["student-3"] == {
        "user_id": "student-3",
        "name": "Grace Hopper",
        "email": None,
        "status": "not_started",
        "attempts": 0,
        "mastery_score": None,
    }
    assert body["counts"] == {"completed": 1, "active": 1, "not_started": 1}


async def test_without_a_roster_service_the_answer_says_so(
    tool: Running, platform: PeerPlatform
) -> None:
    placed = await set_up(tool, platform)
    response = await api(
        tool, "GET", f"/api/assessments/{placed.assessment}/roster", placed.teacher
    )
    assert response.status_code == 409
    assert "NRPS" in response.json()["error"]
