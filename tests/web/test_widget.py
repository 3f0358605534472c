"""The widget in a real browser, against a real server: sessions, restarts, stop, offline
turns, and text that must never run as HTML."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from realtime.settings import Settings
from tests.assessment.fake_llm import FakeLLM, Script
from tests.limits import TIMEOUT
from tests.realtime.harness import (
    Running,
    api,
    chat_config,
    create_assessment,
    open_conversation,
    running,
)
from tests.realtime.test_session_e2e import FILL_BLANK
from tests.web.conftest import CoursePage

WAIT_MS = TIMEOUT * 1000
OPENING = ["Hello ", "there. ", "What does ", "photosynthesis ", "make?"]
XSS_TUTOR = [
    "Careful: <script>window.__xss = 1</script> ",
    '<img src=x onerror="window.__xss = 2"> ',
    "is **bold** and `code`.",
]
XSS_STUDENT = '<img src=y onerror="window.__xss = 3"><script>window.__xss = 4</script>'


async def _embed(
    run: Running, course: tuple[CoursePage, str], page: Page, assessment: str, name: str
) -> str:
    """Open the student's conversation in the course page; returns its id."""
    conversation = await open_conversation(run, assessment)
    site, origin = course
    await page.goto(origin + site.embed(name, conversation, run.token("student-1")))
    await expect(page.locator(".tc-status")).to_have_text("Connected", timeout=WAIT_MS)
    return conversation


async def _history(run: Running, conversation: str) -> list[dict[str, Any]]:
    response = await api(
        run, "GET", f"/api/conversations/{conversation}/messages", run.token("student-1")
    )
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _answer(page: Page, text: str) -> None:
    """Type an answer and send it with the keyboard."""
    await page.locator(".tc-input").focus()
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def test_a_fill_blank_session_runs_to_completion_in_the_demo_page(
    database_url: str, page: Page
) -> None:
    """The demo page, under its Content Security Policy (nothing inline, nothing from
    elsewhere): pick an assessment, answer by keyboard alone, see the result; the
    database holds every turn in order."""
    settings = Settings(database_url=database_url, secrets=("w" * 64,), demo=True)
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    async with running(settings) as demo:
        response = await page.goto(demo.base_url + "/")
        assert response is not None
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        await page.get_by_role("button", name="World geography").click()
        replies = page.locator(".tc-assistant[data-state=complete]")
        await expect(replies).to_have_count(1, timeout=WAIT_MS)
        for done, answer in enumerate(["Paris", "Pacific", "Nile"], start=1):
            await _answer(page, answer)
            await expect(replies).to_have_count(1 + done, timeout=WAIT_MS)
        result = page.locator(".tc-result-text")
        await expect(result).to_have_text(
            "Assessment complete. Score: 100% (passed)", timeout=WAIT_MS
        )
        await expect(page.locator(".tc-progress")).to_have_attribute("aria-valuenow", "100")
        # Items done stay shown, and the status says the attempt is over.
        await expect(page.locator(".tc-progress")).to_contain_text("3 of 3 done")
        await expect(page.locator(".tc-status")).to_have_text("Completed")
        await expect(page.locator(".tc-announce")).to_contain_text("Assessment complete")
        await expect(page.locator(".tc-input")).to_be_disabled()
        users = page.locator(".tc-user")
        await expect(users.locator(".tc-body")).to_have_text(["Paris", "Pacific", "Nile"])
        await expect(users.locator(".tc-meta")).to_have_text(["Sent"] * 3)

        token = await page.evaluate("localStorage.getItem('tutorchat:demo-token')")
        conversation = await page.evaluate("window.tutorchatWidget.conversationId")
        stored = (
            await api(demo, "GET", f"/api/conversations/{conversation}/messages", token)
        ).json()["messages"]
        assert [(m["seq"], m["role"], m["status"]) for m in stored] == [
            (n, "assistant" if n % 2 else "user", "complete") for n in range(1, 8)
        ]
        info = (await api(demo, "GET", f"/api/conversations/{conversation}", token)).json()
        assert (info["status"], info["mastery_score"]) == ("completed", 100)
    assert violations == []


async def test_a_server_restart_mid_reply_shows_the_stored_reply_once(
    settings: Settings, run: Running, llm: FakeLLM, course: tuple[CoursePage, str], page: Page
) -> None:
    """The server stops while the tutor's reply streams into the widget; once it is back on
    the same address the widget resumes, and shows the reply as stored, exactly once."""
    pace = asyncio.Semaphore(0)
    llm.will(Script(chunks=OPENING, pace=pace))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    conversation = await _embed(run, course, page, assessment, "restart")
    reply = page.locator(".tc-assistant")
    pace.release()
    await expect(reply.locator(".tc-body")).to_have_text("Hello there.", timeout=WAIT_MS)
    await expect(reply).to_have_attribute("data-state", "streaming")

    port = int(run.base_url.rsplit(":", 1)[1])
    await run.stop()  # mid-reply: the reply ends interrupted, sockets close 1012
    await expect(page.locator(".tc-status")).not_to_have_text("Connected", timeout=WAIT_MS)
    async with running(settings, port=port) as restarted:
        await expect(page.locator(".tc-status")).to_have_text("Connected", timeout=WAIT_MS)
        (stored,) = await _history(restarted, conversation)
        assert stored["status"] == "interrupted" and stored["content"] == "Hello there. "
        await expect(reply).to_have_count(1)
        await expect(reply).to_have_attribute("data-state", "interrupted", timeout=WAIT_MS)
        await expect(reply.locator(".tc-body")).to_have_text("Hello there.")
        await expect(reply.locator(".tc-meta")).to_have_text("Interrupted")


async def test_the_stop_button_cancels_the_reply_in_flight(
    run: Running, llm: FakeLLM, course: tuple[CoursePage, str], page: Page
) -> None:
    """Stop appears while the tutor streams; pressing it ends the reply cancelled, as
    stored, and the button goes away."""
    gate = asyncio.Event()
    llm.will(Script(chunks=OPENING, gate=gate, gate_after=2))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    conversation = await _embed(run, course, page, assessment, "stop")
    reply = page.locator(".tc-assistant")
    await expect(reply.locator(".tc-body")).to_have_text("Hello there.", timeout=WAIT_MS)
    stop = page.get_by_role("button", name="Stop")
    await expect(stop).to_be_visible()
    await stop.click()
    await expect(reply).to_have_attribute("data-state", "cancelled", timeout=WAIT_MS)
    await expect(reply.locator(".tc-meta")).to_have_text(
        "Stopped. Answer when you are ready: your next message is taken as your answer to "
        "what the tutor asked."
    )
    await expect(stop).to_be_hidden()
    (stored,) = await _history(run, conversation)
    assert (stored["status"], stored["content"]) == ("cancelled", "Hello there. ")
    gate.set()


async def test_html_from_the_tutor_or_a_student_is_shown_as_text(
    run: Running, llm: FakeLLM, course: tuple[CoursePage, str], page: Page
) -> None:
    """Script tags and onerror images, from the tutor or a student, show as their text and
    never run; the Markdown subset is rendered."""
    llm.will(
        Script(chunks=XSS_TUTOR),
        Script(json="not JSON: the built-in grader decides"),
        Script(chunks=["Thanks ", "for that."]),
    )
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    await _embed(run, course, page, assessment, "xss")
    tutor = page.locator(".tc-assistant").first
    await expect(tutor).to_have_attribute("data-state", "complete", timeout=WAIT_MS)
    await expect(tutor).to_contain_text("<script>window.__xss = 1</script>")
    await expect(tutor).to_contain_text('<img src=x onerror="window.__xss = 2">')
    await expect(tutor.locator("strong")).to_have_text("bold")
    await expect(tutor.locator("code")).to_have_text("code")

    await _answer(page, XSS_STUDENT)
    student = page.locator(".tc-user")
    await expect(student).to_have_attribute("data-state", "stored", timeout=WAIT_MS)
    await expect(student.locator(".tc-body")).to_have_text(XSS_STUDENT)
    await expect(page.locator(".tc-assistant[data-state=complete]")).to_have_count(
        2, timeout=WAIT_MS
    )
    assert await page.locator(".tc img, .tc script").count() == 0
    assert await page.evaluate("window.__xss") is None


async def test_a_turn_typed_offline_is_delivered_once_after_reconnect(
    run: Running, course: tuple[CoursePage, str], page: Page, context: BrowserContext
) -> None:
    """Offline, a typed answer waits; back online, it is sent, stored once and answered."""
    assessment = await create_assessment(
        run,
        "fill_blank",
        "mastery",
        {"items": [{"id": "i1", "text": "2 + 2 = ___", "answers": ["4"]}, _second_item()]},
    )
    conversation = await _embed(run, course, page, assessment, "offline")
    replies = page.locator(".tc-assistant[data-state=complete]")
    await expect(replies).to_have_count(1, timeout=WAIT_MS)

    await context.set_offline(True)
    status = page.locator(".tc-status")
    await expect(status).to_have_attribute("data-state", "offline", timeout=WAIT_MS)
    await _answer(page, "4")
    turn = page.locator(".tc-user")
    await expect(turn).to_have_attribute("data-state", "sending")
    await expect(turn.locator(".tc-meta")).to_have_text("Waiting for connection…")

    await context.set_offline(False)
    await expect(turn).to_have_attribute("data-state", "stored", timeout=WAIT_MS)
    await expect(replies).to_have_count(2, timeout=WAIT_MS)
    await expect(status).to_have_text("Connected")
    stored = await _history(run, conversation)
    assert [(m["seq"], m["role"], m["content"]) for m in stored if m["role"] == "user"] == [
        (2, "user", "4")
    ]
    assert [m["seq"] for m in stored] == [1, 2, 3]


def _second_item() -> dict[str, Any]:
    return {"id": "i2", "text": "3 + 3 = ___", "answers": ["6"]}


async def test_an_expired_token_is_renewed_from_the_page_and_nothing_is_lost(
    run: Running, course: tuple[CoursePage, str], page: Page
) -> None:
    """The server closes the socket 4401 when its token expires; the widget asks the page
    for a fresh one (getToken), resumes, and the student goes on answering."""
    assessment = await create_assessment(
        run,
        "fill_blank",
        "mastery",
        {"items": [{"id": "i1", "text": "2 + 2 = ___", "answers": ["4"]}, _second_item()]},
    )
    conversation = await open_conversation(run, assessment)
    short = run.token("student-1", ttl=timedelta(seconds=2))
    site, origin = course
    path = site.embed("renewed", conversation, short, fresh=run.token("student-1"))
    await page.goto(origin + path)
    replies = page.locator(".tc-assistant[data-state=complete]")
    await expect(replies).to_have_count(1, timeout=WAIT_MS)
    await page.wait_for_function("window.closes.includes(4401)", timeout=WAIT_MS)
    await expect(page.locator(".tc-status")).to_have_text("Connected", timeout=WAIT_MS)
    await _answer(page, "4")
    await expect(replies).to_have_count(2, timeout=WAIT_MS)
    stored = await _history(run, conversation)
    assert [(m["seq"], m["role"]) for m in stored] == [
        (1, "assistant"),
        (2, "user"),
        (3, "assistant"),
    ]


async def test_ask_again_after_a_failed_reply(
    run: Running, llm: FakeLLM, course: tuple[CoursePage, str], page: Page
) -> None:
    """The tutor's opening fails: the widget says so and offers Ask again; pressing it
    brings the question again, and the button goes away."""
    llm.will(Script(status=503))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    await _embed(run, course, page, assessment, "ask-again")
    failed = page.locator(".tc-assistant").first
    await expect(failed).to_have_attribute("data-state", "error", timeout=WAIT_MS)
    again = page.get_by_role("button", name="Ask again")
    await expect(again).to_be_visible()
    await again.click()
    asked = page.locator(".tc-assistant").nth(1)
    await expect(asked).to_have_attribute("data-state", "complete", timeout=WAIT_MS)
    await expect(asked.locator(".tc-body")).to_contain_text("What does photosynthesis make?")
    await expect(again).to_be_hidden()
    await page.screenshot(path="test-results/widget-ask-again.png")


async def test_a_counter_shows_near_the_answer_limit(
    run: Running, course: tuple[CoursePage, str], page: Page
) -> None:
    """Below nine tenths of the limit nothing shows; above, how much is used; at the
    limit, that it is the most an answer holds (the field takes no more)."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    await _embed(run, course, page, assessment, "counter")
    counter = page.locator(".tc-count")
    await page.locator(".tc-input").fill("a" * 7000)
    await expect(counter).to_be_hidden()
    await page.locator(".tc-input").fill("a" * 7500)
    await expect(counter).to_have_text("7,500 of 8,000 characters")
    await page.locator(".tc-input").fill("a" * 9000)  # the field holds 8,000
    await expect(counter).to_have_text("8,000 of 8,000 characters: the most an answer can hold")
    await page.screenshot(path="test-results/widget-counter.png")
