"""The instructor console in headless Chromium, against a real server, at a desktop and
a phone size: each task an instructor does there, with axe-core run in every state,
light and dark, and screenshots in test-results/ (``console-<state>-<size>[-dark].png``).
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from tests.limits import TIMEOUT
from tests.realtime.harness import (
    Client,
    Running,
    api,
    create_assessment,
    of_type,
    open_conversation,
    take_attempt,
)
from tests.realtime.test_session_e2e import FILL_BLANK
from tests.web.axe import checked

WAIT_MS = TIMEOUT * 1000
SOURCE = "Paris is the capital of **France**. Water boils at **100** degrees."


async def _console(page: Page, run: Running, path: str = "#/", token: str = "") -> None:
    token = token or run.token("teacher", "course-1", "Instructor")
    await page.goto(f"{run.base_url}/console#token={token}")
    await expect(page.locator("h1")).not_to_have_text("", timeout=WAIT_MS)
    if path != "#/":
        await page.evaluate(f"location.hash = {path!r}")


async def test_an_assessment_is_made_with_the_form_fixed_where_the_server_says(
    run: Running, sized: Page
) -> None:
    await _console(sized, run)
    await expect(sized.locator("h1")).to_have_text("Assessments")
    await expect(sized.get_by_text("No assessment yet")).to_be_visible()
    assert "token=" not in sized.url  # the token left the address
    await checked(sized, "console-empty")

    await sized.get_by_role("link", name="New assessment").click()
    await sized.get_by_label("Title").fill("Capitals")
    sentence = sized.get_by_label("Sentence, with the blank as ___")
    await sentence.fill("The capital of France is Paris.")
    await sized.get_by_label("Accepted answers (one a line)").fill("Paris")
    await sized.get_by_role("button", name="Create").click()
    # The server's message, beside the field it names, and the field marked.
    await expect(sentence).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    await expect(sentence).to_be_focused()
    await expect(sized.locator(".tcc-field-error:not(:empty)")).to_have_text(
        "must hold the blank as ___"
    )
    await checked(sized, "console-invalid")

    await sentence.fill("The capital of France is ___.")
    await sized.get_by_role("button", name="Create").click()
    await expect(sized.locator("h1")).to_have_text("Edit: Capitals", timeout=WAIT_MS)
    # The grading preview, inline.
    await sized.get_by_label("Try an answer (as saved)").fill("paris")
    await sized.get_by_role("button", name="Check").click()
    await expect(sized.locator(".tcc-verdict")).to_contain_text("correct", timeout=WAIT_MS)
    await checked(sized, "console-edit")

    # The raw view shows the same assessment; an edit there comes back to the form.
    await sized.get_by_role("button", name="Raw JSON").click()
    raw = sized.get_by_label("The assessment as JSON")
    text = await raw.input_value()
    await raw.fill(text.replace('"Capitals"', '"World capitals"'))
    await sized.get_by_role("button", name="Form").click()
    await expect(sized.get_by_label("Title")).to_have_value("World capitals")
    await sized.get_by_role("button", name="Save").click()
    await expect(sized.locator(".tcc-errors")).to_have_text("Saved.", timeout=WAIT_MS)

    # A variant of the item: refused where it is wrong, then saved.
    await sized.get_by_role("button", name="Add a variant to item 1").click()
    variant = sized.locator(".tcc-variant")
    variant_sentence = variant.get_by_label("Sentence, with the blank as ___")
    await variant_sentence.fill("The capital of Italy is Rome.")
    await variant.get_by_label("Accepted answers (one a line)").fill("Rome")
    await sized.get_by_role("button", name="Save").click()
    await expect(variant_sentence).to_have_attribute("aria-invalid", "true", timeout=WAIT_MS)
    await checked(sized, "console-variant")
    await variant_sentence.fill("The capital of Italy is ___.")
    await sized.get_by_role("button", name="Save").click()
    await expect(sized.locator(".tcc-errors")).to_have_text("Saved.", timeout=WAIT_MS)
    teacher = run.token("teacher", "course-1", "Instructor")
    listed = await api(run, "GET", "/api/courses/course-1/assessments", teacher)
    (saved,) = listed.json()["assessments"]
    assert saved["ai_config"]["items"][0]["variants"] == [
        {"text": "The capital of Italy is ___.", "answers": ["Rome"]}
    ]

    await sized.get_by_role("link", name="tutorchat").click()
    row = sized.locator("tbody tr")
    await expect(row).to_have_count(1, timeout=WAIT_MS)
    await expect(row.locator("th")).to_have_text("World capitals")
    await row.get_by_role("button", name="Clone").click()
    await expect(sized.locator("h1")).to_have_text("Edit: Copy of World capitals", timeout=WAIT_MS)
    await sized.get_by_role("link", name="tutorchat").click()
    await expect(row).to_have_count(2, timeout=WAIT_MS)
    # Archiving changes its order (newest first): the row is found by its id.
    first = await sized.locator("tbody tr").nth(1).get_attribute("data-assessment")
    original = sized.locator(f'tbody tr[data-assessment="{first}"]')
    await expect(original.locator("th")).to_have_text("World capitals")
    await original.get_by_role("button", name="Archive").click()
    await expect(original.locator("td").nth(1)).to_have_text("Archived", timeout=WAIT_MS)
    await checked(sized, "console-list")
    await original.get_by_role("button", name="Restore").click()
    await expect(original.locator("td").nth(1)).to_have_text("Open", timeout=WAIT_MS)


async def test_results_charts_csv_a_transcript_and_a_score_set_by_hand(
    run: Running, sized: Page, tmp_path: Path
) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    await take_attempt(run, assessment, "student-1", ["Paris", "4"])
    await take_attempt(run, assessment, "student-2", ["Lyon", "Marseille"])
    await _console(sized, run, f"#/a/{assessment}/results")
    students = sized.locator("tbody tr[data-user]")
    await expect(students).to_have_count(2, timeout=WAIT_MS)
    await expect(sized.locator(".tcc-chart canvas")).to_have_count(2)
    await expect(sized.locator(".tcc-missed li").first).to_contain_text(
        "The capital of France is ___."
    )
    await expect(students.first.locator("td").nth(3)).to_have_text("yes")
    # Each student's struggles, by the item's text.
    await expect(students.nth(1).locator(".tcc-struggles li")).to_have_text(
        ["The capital of France is ___. · missed 2 times"]
    )
    await checked(sized, "console-results")

    async with sized.expect_download() as downloading:
        await sized.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "results.csv"
    await (await downloading.value).save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("user_id,attempts,best_score") and len(lines) == 3

    # One student across the course.
    await sized.get_by_role("link", name="student-2", exact=True).click()
    await expect(sized.locator("h1")).to_have_text("Student student-2", timeout=WAIT_MS)
    await expect(sized.locator("tbody tr")).to_have_count(1)
    await checked(sized, "console-student")
    await sized.go_back()
    await sized.get_by_role("link", name="Attempt 1 of student-2").click()
    await expect(sized.locator(".tcc-turn")).to_have_count(5, timeout=WAIT_MS)
    await sized.get_by_label("Score (0 to 100)").fill("80")
    await sized.get_by_label("Reason (kept with the score)").fill("Explained it in class")
    await sized.get_by_role("button", name="Set the score").click()
    await expect(sized.locator("#score-status")).to_contain_text(
        "Saved: 80% (was 0%)", timeout=WAIT_MS
    )
    await checked(sized, "console-attempt")


async def test_an_attempt_in_progress_is_watched_live(run: Running, sized: Page) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment, "student-3")
    await _console(sized, run, f"#/a/{assessment}/results")
    await sized.get_by_role("link", name="Watch attempt 1 of student-3").click()
    live = sized.locator(".tcc-live")
    await expect(live.locator(".tc-status")).to_have_text("Connected", timeout=WAIT_MS)
    await expect(live.locator(".tc-composer")).to_be_hidden()
    student = await Client.connect(run, conversation, run.token("student-3"))
    await student.until(of_type("welcome"))
    await student.send({"type": "send", "client_msg_id": "live-1", "content": "Paris"})
    await expect(live.locator(".tc-user .tc-body")).to_have_text("Paris", timeout=WAIT_MS)
    await expect(live.locator(".tc-assistant[data-state=complete]")).to_have_count(
        2, timeout=WAIT_MS
    )
    await student.close()
    await checked(sized, "console-live")


async def test_generated_content_is_reviewed_before_students_get_it(
    run: Running, sized: Page
) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    await _console(sized, run, f"#/a/{assessment}/content")
    await sized.get_by_label("Source text (a chapter, notes, a glossary)").fill(SOURCE)
    await sized.get_by_role("button", name="Generate").click()
    generated = sized.locator(".tcc-content")
    await expect(generated).to_have_count(1, timeout=WAIT_MS)
    await expect(generated).to_contain_text("Not approved")
    await checked(sized, "console-content")
    # An item corrected before approval: a blank that was not one is refused, by name.
    sentence = generated.get_by_label("Sentence 1", exact=True)
    await sentence.fill("Paris is the capital of France.")
    await generated.get_by_role("button", name="Save changes").click()
    await expect(generated.locator(".tcc-verdict")).to_have_text(
        "Not saved: items[0].text: must hold the blank as ___", timeout=WAIT_MS
    )
    await sentence.fill("Paris is the capital of ___, in Europe.")
    await generated.get_by_role("button", name="Save changes").click()
    await expect(generated.locator(".tcc-verdict")).to_have_text("Saved.", timeout=WAIT_MS)
    await generated.get_by_role("button", name="Approve").click()
    await expect(sized.locator(".tcc-content")).to_contain_text("Approved:", timeout=WAIT_MS)
    listed = await api(
        run,
        "GET",
        f"/api/assessments/{assessment}/content",
        run.token("teacher", "course-1", "Instructor"),
    )
    (approved,) = listed.json()["content"]
    assert approved["approved"] is True
    assert approved["content"]["items"][0]["text"] == "Paris is the capital of ___, in Europe."
    assert approved["content"]["edited_by"] == "teacher"


async def test_a_learners_token_does_not_open_the_console(run: Running, sized: Page) -> None:
    await _console(sized, run, token=run.token("student-1"))
    await expect(sized.locator("h1")).to_have_text("Sign in")
    await expect(sized.get_by_role("alert")).to_have_text("That token is not an instructor's.")
    await checked(sized, "console-sign-in")


async def test_a_link_with_another_courses_token_asks_before_switching(
    run: Running, sized: Page
) -> None:
    await _console(sized, run)
    await expect(sized.locator("h1")).to_have_text("Assessments")
    await sized.goto("about:blank")
    other = run.token("teacher-9", "course-9", "Instructor")
    await sized.goto(f"{run.base_url}/console#token={other}")
    await expect(sized.locator("h1")).to_have_text("Switch course?", timeout=WAIT_MS)
    assert "token=" not in sized.url
    await checked(sized, "console-switch")
    await sized.get_by_role("button", name="Stay in course course-1").click()
    await expect(sized.locator("#who")).to_have_text("Course course-1 · teacher")
    await sized.goto("about:blank")
    await sized.goto(f"{run.base_url}/console#token={other}")
    await sized.get_by_role("button", name="Switch to course course-9").click()
    await expect(sized.locator("#who")).to_have_text("Course course-9 · teacher-9")
