"""The pages an LTI launch opens, checked with axe-core at a desktop and a phone size,
inside the platform's frame: the instructor's configuration, the learner's widget, the
deep linking picker, a page saying the link is not set up, and a refusal. Each leaves a
screenshot in test-results/."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Frame, Page, expect

from tests.limits import TIMEOUT
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform
from tests.lti.test_grades_e2e import set_up
from tests.realtime.harness import Running
from tests.web.axe import RESULTS, require_axe, violations
from tests.web.conftest import SIZES
from tests.web.test_lti_launch import course_page

WAIT_MS = TIMEOUT * 1000


async def tool_frame(page: Page, tool: Running, ready: str) -> Frame:
    """The tool's frame in the course page, once ``ready`` (a selector) shows there."""
    await expect(page.frame_locator("#tool").locator(ready).first).to_be_visible(timeout=WAIT_MS)
    frame = next(f for f in page.frames if f.url.startswith(tool.base_url))
    return frame


CASES = {
    "instructor": (LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR]), ".lti-config"),
    "learner": (LaunchSpec(), ".tc-assistant[data-state=complete]"),
    "picker": (
        LaunchSpec(user_id="teacher-1", roles=[INSTRUCTOR], deep_linking=True),
        ".lti-choices",
    ),
    "not set up": (LaunchSpec(resource_link_id="link-elsewhere"), "h1"),
    "refused": (LaunchSpec(deep_linking=True), ".lti-reason"),
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("case", list(CASES))
async def test_the_launch_pages_have_no_accessibility_violations(
    browser: Browser, tool: Running, platform: PeerPlatform, case: str, size: str
) -> None:
    require_axe()
    await set_up(tool, platform)
    context = await browser.new_context(viewport=SIZES[size], bypass_csp=True)
    try:
        page = await context.new_page()
        spec, ready = CASES[case]
        await page.goto(course_page(platform, spec))
        frame = await tool_frame(page, tool, ready)
        found = await violations(frame)
        RESULTS.mkdir(exist_ok=True)
        name = f"lti-{case.replace(' ', '-')}-{size}.png"
        await page.screenshot(path=RESULTS / name, full_page=True)
    finally:
        await context.close()
    assert found == [], "\n".join(found)
