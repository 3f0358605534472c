"""Deep Linking 2.0 with a real platform: an instructor adds one of the course's
assessments from the LMS; the platform checks the tool's signed answer; the new link's
first launch opens a copy of the chosen assessment."""

from __future__ import annotations

import re
from html import unescape

import httpx

from tests.limits import TIMEOUT
from tests.lti.flow import launch
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform
from tests.lti.test_grades_e2e import set_up
from tests.lti.test_launch_e2e import launch_data
from tests.realtime.harness import Running, api

_CHOICE = re.compile(
    r'<input type="hidden" name="context" value="([^"]*)">'
    r'<input type="hidden" name="assessment" value="([^"]*)">'
    r'<button type="submit">([^<]*)</button>'
)
_RETURN = re.compile(
    r'<form id="lti-return" method="post" action="([^"]*)">'
    r'<input type="hidden" name="JWT" value="([^"]*)">'
)
TEACHER = LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR], deep_linking=True)


async def test_an_instructor_adds_an_assessment_and_its_first_launch_opens_a_copy(
    tool: Running, platform: PeerPlatform
) -> None:
    placed = await set_up(tool, platform)  # link-1's assessment, to pick
    picker = await launch(tool.base_url, platform, TEACHER)
    assert picker.status_code == 200, picker.text
    choices = {unescape(title): (unescape(c), a) for c, a, title in _CHOICE.findall(picker.text)}
    assert set(choices) == {"fill_blank assessment", "A new assessment"}
    context, assessment = choices["fill_blank assessment"]
    assert assessment == placed.assessment
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        answer = await client.post(
            tool.base_url + "/lti/deep-link", data={"context": context, "assessment": assessment}
        )
        assert answer.status_code == 200, answer.text
        assert f"form-action 'self' {platform.url}" in answer.headers["content-security-policy"]
        action, signed = (unescape(part) for part in _RETURN.search(answer.text).groups())  # type: ignore[union-attr]
        assert action == platform.url + "/deep_link_return"
        taken = await client.post(action, data={"JWT": signed})
    assert taken.status_code == 200, taken.text
    ((item,),) = await platform.deep_links.until(1)
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == tool.base_url + "/lti/launch"
    assert item["custom"] == {"tutorchat_assessment": placed.assessment}
    assert item["lineItem"]["scoreMaximum"] == 100

    # The platform made link-2 from the item: its first launch places a copy there.
    student = await launch(
        tool.base_url,
        platform,
        LaunchSpec(resource_link_id="link-2", custom=item["custom"]),
    )
    opened = launch_data(student.text)
    conversation = (
        await api(tool, "GET", f"/api/conversations/{opened['conversationId']}", opened["token"])
    ).json()
    assert conversation["assessment_config_id"] != placed.assessment  # its own copy
    copy = await api(
        tool, "GET", f"/api/assessments/{conversation['assessment_config_id']}", placed.teacher
    )
    original = await api(tool, "GET", f"/api/assessments/{placed.assessment}", placed.teacher)
    assert copy.json()["ai_config"] == original.json()["ai_config"]
    assert copy.json()["resource_link_id"] == "link-2"


async def test_a_learner_cannot_add_assessments(tool: Running, platform: PeerPlatform) -> None:
    page = await launch(tool.base_url, platform, LaunchSpec(deep_linking=True))
    assert page.status_code == 400
    assert "Only an instructor" in page.text


async def test_a_choice_that_did_not_come_from_the_picker_is_refused(
    tool: Running, platform: PeerPlatform
) -> None:
    picker = await launch(tool.base_url, platform, TEACHER)
    context, _ = next((unescape(c), a) for c, a, _ in _CHOICE.findall(picker.text))
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        forged = await client.post(
            tool.base_url + "/lti/deep-link", data={"context": context + "x", "assessment": "new"}
        )
        elsewhere = await client.post(
            tool.base_url + "/lti/deep-link",
            data={"context": context, "assessment": "another-course-assessment"},
        )
    assert forged.status_code == 400 and "did not come from this tool" in forged.text
    assert elsewhere.status_code == 400 and "No assessment" in elsewhere.text


async def test_a_link_made_from_another_courses_assessment_copies_nothing(
    tool: Running, platform: PeerPlatform
) -> None:
    placed = await set_up(tool, platform)
    other_course = LaunchSpec(
        resource_link_id="link-9",
        context_id="course-2",
        custom={"tutorchat_assessment": placed.assessment},
    )
    page = await launch(tool.base_url, platform, other_course)
    assert "has not set up this assessment yet" in page.text
