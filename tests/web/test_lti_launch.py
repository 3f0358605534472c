"""LTI launches in headless Chromium, inside the platform's iframe as an LMS frames the
tool: an instructor sets the assessment up, a learner takes it to completion, and the
pages obey the frame policy (framed by the platform only)."""

from __future__ import annotations

import json

from playwright.async_api import FrameLocator, Page, Route, expect

from tests.limits import TIMEOUT
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform
from tests.lti.test_grades_e2e import set_up
from tests.realtime.harness import Running
from tests.realtime.test_session_e2e import FILL_BLANK

WAIT_MS = TIMEOUT * 1000


def course_page(platform: PeerPlatform, spec: LaunchSpec) -> str:
    """The platform's course page framing a launch of ``spec``."""
    start = platform.start_url(spec)
    return platform.url + "/course?" + start.split("?", 1)[1]


async def _answer(frame: FrameLocator, text: str) -> None:
    await frame.locator(".tc-input").fill(text)
    await frame.locator(".tc-input").press("Enter")


async def test_an_instructor_sets_up_the_link_and_a_learner_completes_it_in_the_iframe(
    page: Page, tool: Running, platform: PeerPlatform
) -> None:
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    teacher = LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR], grades=True)
    await page.goto(course_page(platform, teacher))
    frame = page.frame_locator("#tool")
    await expect(frame.get_by_role("heading", name="Set up this assessment")).to_be_visible(
        timeout=WAIT_MS
    )
    editor = frame.get_by_label("Assessment configuration (JSON)")
    await editor.fill("{not json")
    await frame.get_by_role("button", name="Save").click()
    await expect(frame.locator(".lti-status")).to_contain_text("This is not JSON")
    body = {"assessment_type": "fill_blank", "grading_schema": "mastery", "ai_config": {}}
    await editor.fill(json.dumps(body))
    await frame.get_by_role("button", name="Save").click()
    await expect(frame.locator(".lti-status")).to_contain_text("Not saved: ai_config")
    await editor.fill(json.dumps({**body, "ai_config": {"title": "Week 1", **FILL_BLANK}}))
    await frame.get_by_role("button", name="Save").click()
    await expect(frame.locator(".lti-status")).to_have_text(
        "Saved. Students who open this link now take it.", timeout=WAIT_MS
    )
    await page.screenshot(path="test-results/lti-instructor-launch.png")

    await page.goto(course_page(platform, LaunchSpec(grades=True)))
    frame = page.frame_locator("#tool")
    await expect(frame.get_by_role("heading", name="Week 1")).to_be_visible(timeout=WAIT_MS)
    replies = frame.locator(".tc-assistant[data-state=complete]")
    await expect(replies).to_have_count(1, timeout=WAIT_MS)
    for done, answer in enumerate(["Paris", "4"], start=1):
        await _answer(frame, answer)
        await expect(replies).to_have_count(1 + done, timeout=WAIT_MS)
    await expect(frame.locator(".tc-result-text")).to_have_text(
        "Assessment complete. Score: 100% (passed)", timeout=WAIT_MS
    )
    await page.screenshot(path="test-results/lti-learner-launch.png")
    (score,) = await platform.gradebook.taken.until(1)  # in the platform's gradebook
    assert (score["userId"], score["scoreGiven"]) == ("student-1", 100)

    # The instructor, back on the link, sees the score sent.
    await page.goto(course_page(platform, teacher))
    await expect(frame.locator(".lti-grades")).to_contain_text("1 sent", timeout=WAIT_MS)
    # ... and opens the console in a tab of its own, on this assessment's results.
    async with page.context.expect_page() as opening:
        await frame.get_by_role("link", name="Open the instructor console").click()
    console = await opening.value
    await expect(console.locator("h1")).to_have_text("Week 1", timeout=WAIT_MS)
    await expect(console.locator("tbody tr[data-user]")).to_have_count(1)
    assert "token=" not in console.url
    await console.close()
    assert violations == []


async def test_a_launch_page_is_framed_only_by_its_platform(
    page: Page, tool: Running, platform: PeerPlatform
) -> None:
    """The frame policy names the platform's origin, and no other."""
    responses: list[str] = []

    def keep(response: object) -> None:
        url = getattr(response, "url", "")
        if url.endswith("/lti/launch"):
            responses.append(getattr(response, "headers", {})["content-security-policy"])

    page.on("response", keep)
    await page.goto(course_page(platform, LaunchSpec()))
    await expect(page.frame_locator("#tool").get_by_role("heading")).to_be_visible(timeout=WAIT_MS)
    (policy,) = responses
    assert f"frame-ancestors {platform.url}" in policy


async def _without_cookies(page: Page, platform: PeerPlatform) -> None:
    """The browser keeps no cookie of the tool's, as in an LMS frame whose browser
    blocks third-party cookies: the jar is emptied as the login goes on to the
    platform's authorization endpoint, before the launch is posted."""

    async def forget(route: Route) -> None:
        await page.context.clear_cookies()
        await route.continue_()

    await page.route(platform.url + "/auth?*", forget)


async def test_without_cookies_the_platforms_storage_proves_the_browser(
    page: Page, tool: Running, platform: PeerPlatform
) -> None:
    """The login keeps the state in the platform's storage frame; the launch, with no
    cookie, reads it back there and opens the learner's conversation."""
    await set_up(tool, platform)
    await _without_cookies(page, platform)
    confirmed: list[str] = []
    page.on("request", lambda r: confirmed.append(r.url) if "/confirm" in r.url else None)
    await page.goto(course_page(platform, LaunchSpec(storage_target="lti_storage")))
    frame = page.frame_locator("#tool")
    await expect(frame.locator(".tc-assistant[data-state=complete]")).to_have_count(
        1, timeout=WAIT_MS
    )
    await expect(frame.locator(".tc-status")).to_have_text("Connected", timeout=WAIT_MS)
    assert confirmed == [tool.base_url + "/lti/launch/confirm"]


async def test_without_cookies_or_the_state_in_storage_the_launch_stops(
    page: Page, tool: Running, platform: PeerPlatform
) -> None:
    await set_up(tool, platform)
    await _without_cookies(page, platform)
    platform.storage_forgets = True
    await page.goto(course_page(platform, LaunchSpec(storage_target="lti_storage")))
    frame = page.frame_locator("#tool")
    await expect(frame.get_by_role("alert")).to_contain_text(
        "could not show that it began this launch", timeout=WAIT_MS
    )
    await expect(frame.locator(".tc-assistant")).to_have_count(0)
