"""What the instructor console calls, on a real server: the course's assessments, clone,
archive and restore, the providers an assessment may choose, results (JSON and CSV), and
a finished attempt's score set by hand with its reason."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.realtime.harness import Running, api, create_assessment, take_attempt
from tests.realtime.test_session_e2e import FILL_BLANK


def _teacher(run: Running, course: str = "course-1") -> str:
    return run.token("teacher", course, "Instructor")


async def test_assessments_are_listed_cloned_archived_and_restored(run: Running) -> None:
    assessment = await create_assessment(
        run, "fill_blank", "mastery", FILL_BLANK | {"title": "Capitals"}
    )
    teacher = _teacher(run)
    cloned = await api(run, "POST", f"/api/assessments/{assessment}/clone", teacher)
    assert cloned.status_code == 201
    copy = cloned.json()
    assert copy["id"] != assessment and copy["ai_config"]["title"] == "Copy of Capitals"
    assert copy["ai_config"]["items"] == FILL_BLANK["items"]
    listed = (await api(run, "GET", "/api/courses/course-1/assessments", teacher)).json()
    assert [a["id"] for a in listed["assessments"]] == [copy["id"], assessment]

    archived = await api(run, "POST", f"/api/assessments/{assessment}/archive", teacher)
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    refused = await api(
        run, "POST", f"/api/assessments/{assessment}/conversations", run.token("student-1")
    )
    assert (refused.status_code, refused.json()) == (
        409,
        {"error": "the assessment is archived: it takes no new attempts"},
    )
    restored = await api(run, "POST", f"/api/assessments/{assessment}/restore", teacher)
    assert restored.json()["archived_at"] is None
    opened = await api(
        run, "POST", f"/api/assessments/{assessment}/conversations", run.token("student-1")
    )
    assert opened.status_code == 201


async def test_an_archived_assessment_still_shows_a_finished_attempt(run: Running) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    done = await take_attempt(run, assessment, "student-1", ["Paris"])
    await api(run, "POST", f"/api/assessments/{assessment}/archive", _teacher(run))
    path = f"/api/assessments/{assessment}/conversations"
    shown = await api(run, "POST", path, run.token("student-1"))
    assert (shown.status_code, shown.json()["id"]) == (200, done)
    again = await api(run, "POST", path, run.token("student-1"), {"new_attempt": True})
    assert again.status_code == 409
    listed = await api(
        run, "GET", f"/api/assessments/{assessment}/attempts", run.token("student-1")
    )
    assert listed.json()["can_start"] is False


async def test_the_providers_are_names_and_models_only(run: Running) -> None:
    listed = await api(run, "GET", "/api/llm-providers", _teacher(run))
    providers = listed.json()["providers"]
    assert all(set(p) == {"name", "models"} for p in providers)
    assert (await api(run, "GET", "/api/llm-providers", run.token("student-1"))).status_code == 403


async def test_results_per_student_with_the_class_summary_and_csv(run: Running) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    await take_attempt(run, assessment, "student-1", ["Paris", "4"])
    await take_attempt(run, assessment, "student-2", ["Lyon", "Marseille"])
    await take_attempt(run, assessment, "=cmd|' /C calc'!A0", ["Paris"])
    results = (
        await api(run, "GET", f"/api/assessments/{assessment}/results", _teacher(run))
    ).json()
    rows = {row["user_id"]: row for row in results["students"]}
    assert (rows["student-1"]["best_score"], rows["student-1"]["passed"]) == (100, True)
    assert rows["student-2"]["passed"] is False
    assert len(rows["student-1"]["attempts"]) == 1
    summary = results["summary"]
    assert (summary["attempts"], summary["completed"]) == (3, 3)
    (missed, *_) = summary["most_missed"]
    assert missed["item_id"] == "i1" and missed["text"].startswith("The capital of France")
    assert [day["completed"] for day in results["completions"]] == [3]
    assert rows["student-2"]["struggles"] == [
        {"item_id": "i1", "text": "The capital of France is ___.", "misses": 2}
    ]
    assert rows["student-1"]["struggles"] == []

    response = await api(
        run, "GET", f"/api/assessments/{assessment}/results?format=csv", _teacher(run)
    )
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["user_id"] for row in table] == ["'=cmd|' /C calc'!A0", "student-1", "student-2"]
    assert table[1]["best_score"] == "100.0" and table[1]["passed"] == "yes"


async def test_a_score_set_by_hand_replaces_the_attempts_and_keeps_its_reason(
    run: Running,
) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await take_attempt(run, assessment, "student-1", ["Lyon"])
    path = f"/api/conversations/{conversation}/score"
    answer = await api(
        run, "POST", path, _teacher(run), {"score": 75, "reason": "Oral follow-up was right"}
    )
    assert answer.status_code == 200, answer.text
    override = answer.json()
    assert (override["score"], override["previous_score"], override["set_by"]) == (
        75,
        0,
        "teacher",
    )
    shown = (await api(run, "GET", f"/api/conversations/{conversation}", _teacher(run))).json()
    assert shown["mastery_score"] == 75
    results = (
        await api(run, "GET", f"/api/assessments/{assessment}/results", _teacher(run))
    ).json()
    assert results["overrides"][0]["reason"] == "Oral follow-up was right"
    progress = (await api(run, "GET", "/api/courses/course-1/progress", _teacher(run))).json()
    assert progress["progress"][0]["average_mastery"] == 75


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"score": 101, "reason": "x"}, "score: must be a number from 0 to 100"),
        ({"score": True, "reason": "x"}, "score: must be a number from 0 to 100"),
        ({"score": "50", "reason": "x"}, "score: must be a number from 0 to 100"),
        ({"score": 50}, "reason: must be a non-empty string of at most 1000"),
        ({"score": 50, "reason": " "}, "reason: must be a non-empty string of at most 1000"),
        ({"score": 50, "reason": "x" * 1001}, "reason: must be a non-empty string of at most 1000"),
    ],
)
async def test_a_wrong_score_or_reason_is_422(
    run: Running, body: dict[str, Any], error: str
) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await take_attempt(run, assessment, "student-1", [])
    answer = await api(run, "POST", f"/api/conversations/{conversation}/score", _teacher(run), body)
    assert (answer.status_code, answer.json()) == (422, {"error": error})


async def test_an_attempt_in_progress_has_no_score_to_set(run: Running) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    opened = await api(
        run, "POST", f"/api/assessments/{assessment}/conversations", run.token("student-1")
    )
    answer = await api(
        run,
        "POST",
        f"/api/conversations/{opened.json()['id']}/score",
        _teacher(run),
        {"score": 50, "reason": "early"},
    )
    assert answer.status_code == 409


async def test_generated_content_is_corrected_before_approval(run: Running) -> None:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    teacher = _teacher(run)
    made = await api(
        run,
        "POST",
        f"/api/assessments/{assessment}/content",
        teacher,
        {"source": "Paris is the capital of **France**.", "kind": "fill_blank"},
    )
    content_hash = made.json()["content_hash"]
    path = f"/api/assessments/{assessment}/content/{content_hash}"
    refused = await api(run, "PUT", path, teacher, {"items": [{"id": "g1", "text": "No blank"}]})
    assert refused.status_code == 422
    assert refused.json()["error"].startswith("items[0]")
    assert (await api(run, "PUT", path, teacher, {"items": []})).status_code == 422
    assert (await api(run, "PUT", path, run.token("student-1"), {"items": []})).status_code == 403
    fixed = {"id": "g1", "text": "Paris is the capital of ___.", "answers": ["France"]}
    edited = await api(run, "PUT", path, teacher, {"items": [fixed]})
    assert edited.status_code == 200, edited.text
    assert edited.json()["content"]["items"] == [fixed]
    unknown = await api(
        run, "PUT", f"/api/assessments/{assessment}/content/nope", teacher, {"items": [fixed]}
    )
    assert unknown.status_code == 404


async def test_one_students_attempts_across_the_course(run: Running) -> None:
    first = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK | {"title": "A"})
    await take_attempt(run, first, "student-1", ["Paris", "4"])
    response = await api(run, "GET", "/api/courses/course-1/students/student-1", _teacher(run))
    shown = response.json()
    assert [(a["title"], a["passed"]) for a in shown["attempts"]] == [("A", True)]
    assert shown["progress"]["average_mastery"] == 100
    nobody = await api(run, "GET", "/api/courses/course-1/students/nobody", _teacher(run))
    assert nobody.json() == {"user_id": "nobody", "progress": None, "attempts": []}
    other = await api(run, "GET", "/api/courses/course-1/students/student-1", _teacher(run, "c2"))
    assert other.status_code == 403


async def test_only_the_latest_attempts_score_goes_to_the_gradebook(run: Running) -> None:
    assessment = await create_assessment(
        run, "fill_blank", "mastery", FILL_BLANK | {"new_attempt": "automatic"}
    )
    older = await take_attempt(run, assessment, "student-1", ["Lyon"])
    latest = await take_attempt(run, assessment, "student-1", ["Paris", "4"])
    assert older != latest
    body = {"score": 60, "reason": "Partly right"}
    first = await api(run, "POST", f"/api/conversations/{older}/score", _teacher(run), body)
    second = await api(run, "POST", f"/api/conversations/{latest}/score", _teacher(run), body)
    assert (first.json()["latest_attempt"], second.json()["latest_attempt"]) == (False, True)


async def test_a_course_holds_a_bounded_number_of_assessments(
    run: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("realtime.web.api.MAX_ASSESSMENTS_PER_COURSE", 1)
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    cloned = await api(run, "POST", f"/api/assessments/{assessment}/clone", _teacher(run))
    assert (cloned.status_code, cloned.json()) == (
        429,
        {"error": "a course has at most 1 assessments"},
    )
