"""The widget in each of its states, in headless Chromium at a desktop (1280x800) and a
phone (390x844) size, light and dark: axe-core finds no violation in any, and each
leaves its screenshots in test-results/ (``widget-<state>-<size>[-dark].png``).

Besides, what each state promises: the transcript scrolls inside a fixed height with the
answer field in view and a "jump to latest" when the student has scrolled up; focus on
the answer field when the assessment opens and on the result when it ends; a screen
reader told when a reply starts and when it ends; a finished attempt shown again on
reload, with the student's attempts and a new one on request; maths, links and code
rendered safely; the texts in French and in Arabic, right to left.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.assessment.fake_llm import FakeLLM, Script
from tests.limits import TIMEOUT
from tests.realtime.harness import Running, chat_config, create_assessment, open_conversation
from tests.web.axe import checked
from tests.web.conftest import CoursePage

WAIT_MS = TIMEOUT * 1000
OPENING = ["Hello ", "there. ", "What does ", "photosynthesis ", "make?"]


def _items(count: int) -> dict[str, Any]:
    return {
        "items": [
            {"id": f"i{n}", "text": f"{n} + {n} = ___", "answers": [str(2 * n)]}
            for n in range(1, count + 1)
        ]
    }


async def _embed(
    run: Running, course: tuple[CoursePage, str], page: Page, assessment: str, **options: str
) -> str:
    conversation = await open_conversation(run, assessment)
    site, origin = course
    name = f"{options.get('locale', 'en')}-{conversation}"
    token = run.token("student-1")
    await page.goto(origin + site.embed(name, conversation, token, **options))
    return conversation


async def _answer(page: Page, text: str) -> None:
    await page.locator(".tc-input").fill(text)
    await page.keyboard.press("Enter")


async def test_streaming_then_stopped(
    run: Running, llm: FakeLLM, course: tuple[CoursePage, str], sized: Page
) -> None:
    """Streaming: Stop shown, the reader told a reply began (not each token), the answer
    field focused. Stopped: the guidance under the reply."""
    gate = asyncio.Event()
    llm.will(Script(chunks=OPENING, gate=gate, gate_after=2))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    await _embed(run, course, sized, assessment)
    reply = sized.locator(".tc-assistant")
    await expect(reply.locator(".tc-body")).to_have_text("Hello there.", timeout=WAIT_MS)
    await expect(sized.locator(".tc-announce")).to_have_text("The tutor is replying.")
    await expect(sized.locator(".tc-input")).to_be_focused()
    await checked(sized, "widget-streaming")
    await sized.get_by_role("button", name="Stop").click()
    await expect(reply).to_have_attribute("data-state", "cancelled", timeout=WAIT_MS)
    await expect(sized.locator(".tc-announce")).to_have_text("Hello there. ")
    await checked(sized, "widget-stopped")
    gate.set()


async def test_a_failed_reply_and_a_refused_turn(
    run: Running, llm: FakeLLM, course: tuple[CoursePage, str], sized: Page
) -> None:
    llm.will(Script(status=503))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    await _embed(run, course, sized, assessment)
    await expect(sized.locator(".tc-assistant")).to_have_attribute(
        "data-state", "error", timeout=WAIT_MS
    )
    await expect(sized.get_by_role("button", name="Ask again")).to_be_visible()
    await checked(sized, "widget-failed-reply")


async def test_a_long_transcript_scrolls_with_the_answer_field_in_view(
    run: Running, course: tuple[CoursePage, str], sized: Page
) -> None:
    """Six answers later the answer field is still on screen; scrolled up, a new reply
    brings "Jump to latest", which goes to the end."""
    assessment = await create_assessment(run, "fill_blank", "mastery", _items(8))
    await _embed(run, course, sized, assessment)
    replies = sized.locator(".tc-assistant[data-state=complete]")
    await expect(replies).to_have_count(1, timeout=WAIT_MS)
    for n in range(1, 7):
        await _answer(sized, "no idea at all, sorry" if n % 2 else str(2 * n))
        await expect(replies).to_have_count(1 + n, timeout=WAIT_MS)
    log = sized.locator(".tc-log")
    assert await log.evaluate("l => l.scrollHeight > l.clientHeight")
    viewport = sized.viewport_size
    field = await sized.locator(".tc-input").bounding_box()
    assert viewport is not None and field is not None
    assert field["y"] + field["height"] <= viewport["height"]
    # The newest reply is in view: the transcript followed it.
    assert await log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 48")

    await log.evaluate("l => { l.scrollTop = 0; l.dispatchEvent(new Event('scroll')); }")
    await sized.evaluate("window.tutorchatWidget.send('12')")  # not the form: no jump
    await expect(replies).to_have_count(8, timeout=WAIT_MS)
    jump = sized.get_by_role("button", name="Jump to latest")
    await expect(jump).to_be_visible()
    assert await log.evaluate("l => l.scrollTop") == 0
    await checked(sized, "widget-scrolled-up")
    await jump.click()
    await expect(jump).to_be_hidden()
    assert await log.evaluate("l => l.scrollHeight - l.scrollTop - l.clientHeight < 48")


async def test_a_finished_attempt_shows_again_on_reload_and_a_new_one_on_request(
    run: Running, course: tuple[CoursePage, str], sized: Page
) -> None:
    assessment = await create_assessment(
        run, "fill_blank", "mastery", _items(1) | {"attempts_allowed": 2}
    )
    first = await _embed(run, course, sized, assessment, assessmentId=assessment)
    await expect(sized.locator(".tc-assistant[data-state=complete]")).to_have_count(
        1, timeout=WAIT_MS
    )
    await _answer(sized, "2")
    result = sized.locator(".tc-result")
    await expect(result.locator(".tc-result-text")).to_have_text(
        "Assessment complete. Score: 100% (passed)", timeout=WAIT_MS
    )
    await expect(result).to_be_focused()
    await expect(sized.locator(".tc-announce")).to_have_text("Assessment complete: 100%.")
    await checked(sized, "widget-completed")

    await sized.reload()
    await expect(sized.locator(".tc-user .tc-body")).to_have_text(["2"], timeout=WAIT_MS)
    await expect(result.locator(".tc-result-text")).to_have_text(
        "Assessment complete. Score: 100% (passed)", timeout=WAIT_MS
    )
    await expect(sized.locator(".tc-status")).to_have_text("Completed")
    await expect(sized.locator(".tc-input")).to_be_disabled()
    again = sized.get_by_role("button", name="Start a new attempt")
    await expect(again).to_be_visible()
    await again.click()
    await expect(sized.locator(".tc-user")).to_have_count(0, timeout=WAIT_MS)
    await expect(sized.locator(".tc-assistant[data-state=complete]")).to_have_count(
        1, timeout=WAIT_MS
    )
    await expect(sized.locator(".tc-input")).to_be_enabled()
    await expect(sized.locator(".tc-input")).to_be_focused()
    second = await sized.evaluate("window.tutorchatWidget.conversationId")
    assert second != first
    for wrong in ("5", "7"):  # two tries, then the tutor explains and the attempt ends
        await _answer(sized, wrong)
        stored = sized.locator(".tc-user[data-state=stored] .tc-body").last
        await expect(stored).to_have_text(wrong, timeout=WAIT_MS)
    await expect(result.locator(".tc-result-text")).to_have_text(
        "Assessment complete. Score: 0% (not passed yet)", timeout=WAIT_MS
    )
    # Both attempts listed, newest first; none left to start.
    await expect(sized.locator(".tc-attempts li")).to_have_text(
        [
            "Attempt 2: 0% (not passed yet)",
            "Attempt 1: 100% (passed)",
        ],
        timeout=WAIT_MS,
    )
    await expect(again).to_be_hidden()
    await checked(sized, "widget-attempts")


async def test_maths_links_and_code_are_rendered_safely(
    run: Running, llm: FakeLLM, course: tuple[CoursePage, str], sized: Page
) -> None:
    llm.will(
        Script(
            chunks=[
                "The area is $\\pi r^2$, and $5 or $10 is money.\n\n",
                "$$\\frac{a}{b} = c$$\n\n",
                "See [the notes](https://example.org/notes), https://example.org/more. ",
                "and [this](javascript:alert(1)).\n\n",
                "```\nprint('hi')\n```",
            ]
        )
    )
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    await _embed(run, course, sized, assessment)
    reply = sized.locator(".tc-assistant").first
    await expect(reply).to_have_attribute("data-state", "complete", timeout=WAIT_MS)
    await expect(reply.locator(".tc-math .katex")).to_have_count(2, timeout=WAIT_MS)
    await expect(reply.locator(".tc-math-display .katex-display")).to_have_count(1)
    await expect(reply).to_contain_text("$5 or $10 is money.")
    links = reply.locator("a")
    await expect(links).to_have_count(2)
    assert await links.evaluate_all("as => as.map(a => [a.href, a.rel, a.target])") == [
        ["https://example.org/notes", "noopener noreferrer nofollow", "_blank"],
        ["https://example.org/more", "noopener noreferrer nofollow", "_blank"],
    ]
    await expect(reply).to_contain_text("[this](javascript:alert(1))")
    await expect(reply.locator("pre code")).to_have_text("print('hi')")
    await checked(sized, "widget-maths")


@pytest.mark.parametrize(
    ("locale", "send", "direction"), [("fr", "Envoyer", "ltr"), ("ar", "إرسال", "rtl")]
)
async def test_the_texts_in_another_language(
    run: Running,
    course: tuple[CoursePage, str],
    sized: Page,
    locale: str,
    send: str,
    direction: str,
) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", _items(2))
    await _embed(run, course, sized, assessment, locale=locale)
    box = sized.locator(".tc")
    await expect(box).to_have_attribute("dir", direction)
    await expect(box).to_have_attribute("lang", locale)
    await expect(sized.get_by_role("button", name=send)).to_be_visible()
    await expect(sized.locator(".tc-assistant[data-state=complete]")).to_have_count(
        1, timeout=WAIT_MS
    )
    await _answer(sized, "2")
    await expect(sized.locator(".tc-user")).to_have_attribute(
        "data-state", "stored", timeout=WAIT_MS
    )
    # The tutor's side is the start of the line, the student's its end: right to left
    # in Arabic, the tutor on the right.
    tutor = await sized.locator(".tc-assistant").first.bounding_box()
    student = await sized.locator(".tc-user").first.bounding_box()
    assert tutor is not None and student is not None
    tutor_right = tutor["x"] + tutor["width"]
    student_right = student["x"] + student["width"]
    if direction == "rtl":
        assert tutor_right > student_right and tutor["x"] > student["x"]
    else:
        assert tutor["x"] < student["x"]
    await checked(sized, f"widget-locale-{locale}")


async def test_offline_a_waiting_turn_then_an_expired_session(
    run: Running, course: tuple[CoursePage, str], sized: Page
) -> None:
    """Offline: the status says so and a typed answer waits. A session whose token
    expires with no way to renew it: stopped, the answer field closed."""
    assessment = await create_assessment(run, "fill_blank", "mastery", _items(2))
    await _embed(run, course, sized, assessment)
    await expect(sized.locator(".tc-assistant[data-state=complete]")).to_have_count(
        1, timeout=WAIT_MS
    )
    await sized.context.set_offline(True)
    await expect(sized.locator(".tc-status")).to_have_attribute(
        "data-state", "offline", timeout=WAIT_MS
    )
    await _answer(sized, "2")
    await expect(sized.locator(".tc-user .tc-meta")).to_have_text("Waiting for connection…")
    await checked(sized, "widget-offline")
    await sized.context.set_offline(False)
    await expect(sized.locator(".tc-user")).to_have_attribute(
        "data-state", "stored", timeout=WAIT_MS
    )

    conversation = await open_conversation(run, assessment, "student-2")
    site, origin = course
    short = run.token("student-2", ttl=timedelta(seconds=1))
    await sized.goto(origin + site.embed(f"expired-{conversation}", conversation, short))
    await expect(sized.locator(".tc-status")).to_have_attribute(
        "data-state", "stopped", timeout=WAIT_MS
    )
    await expect(sized.locator(".tc-status")).to_have_text(
        "Your session has expired. Reload the page to sign in again."
    )
    await expect(sized.locator(".tc-input")).to_be_disabled()
    await checked(sized, "widget-expired")
