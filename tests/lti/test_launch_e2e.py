"""Launches from a real platform (lti1p3platform) over real HTTP: a learner opens their
conversation, an instructor the configuration page."""

from __future__ import annotations

import re
from typing import Any

import orjson

from tests.lti.flow import launch
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform
from tests.realtime.harness import Running, api
from tests.realtime.test_session_e2e import FILL_BLANK

_DATA = re.compile(r'<script type="application/json" id="tutorchat-launch">(.*?)</script>')


def launch_data(page: str) -> dict[str, Any]:
    found = _DATA.search(page)
    assert found, page
    data: dict[str, Any] = orjson.loads(found.group(1))
    return data


async def test_an_instructor_sets_up_the_link_and_a_learner_takes_it(
    tool: Running, platform: PeerPlatform
) -> None:
    teacher = await launch(
        tool.base_url, platform, LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR])
    )
    assert teacher.status_code == 200, teacher.text
    data = launch_data(teacher.text)
    assert data["assessment"] is None and data["resourceLinkId"] == "link-1"
    saved = await api(
        tool,
        "PUT",
        "/api/assessments",
        data["token"],
        {
            "platform_id": data["platformId"],
            "resource_link_id": data["resourceLinkId"],
            "assessment_type": "fill_blank",
            "grading_schema": "mastery",
            "ai_config": FILL_BLANK,
        },
    )
    assert saved.status_code == 200, saved.text

    student = await launch(tool.base_url, platform, LaunchSpec())
    assert student.status_code == 200, student.text
    opened = launch_data(student.text)
    conversation = await api(
        tool, "GET", f"/api/conversations/{opened['conversationId']}", opened["token"]
    )
    assert conversation.status_code == 200
    assert conversation.json()["user_id"] == "student-1"
    assert conversation.json()["course_id"] == "course-1"

    again = launch_data((await launch(tool.base_url, platform, LaunchSpec())).text)
    assert again["conversationId"] == opened["conversationId"]  # resumed, not a new one
