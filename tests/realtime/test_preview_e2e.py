"""POST /api/assessments/{id}/preview: an instructor sees the grader's verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.realtime.harness import Running, api, create_assessment

ITEMS = {
    "items": [
        {"id": "i1", "text": "Carbon monoxide is ___.", "answers": ["CO"]},
        {"id": "i2", "text": "Water boils at ___ °C.", "answers": ["100"]},
    ]
}


async def test_an_instructor_previews_answers(run: Running) -> None:
    """Each sample gets its verdict, rule and reason, in order."""
    assessment = await create_assessment(run, "fill_blank", "mastery", ITEMS)
    teacher = run.token("teacher", "course-1", "Instructor")
    body = {"item_id": "i2", "answers": ["100 °C", "1e2", "101", "100 °F"]}
    response = await api(run, "POST", f"/api/assessments/{assessment}/preview", teacher, body)
    assert response.status_code == 200, response.text
    verdicts = response.json()["verdicts"]
    assert [(v["answer"], v["verdict"], v["rule"]) for v in verdicts] == [
        ("100 °C", "correct", "number"),
        ("1e2", "correct", "number"),
        ("101", "wrong", "no_match"),
        ("100 °F", "wrong", "wrong_unit"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"item_id": "i1"}, "answers: must be a list of 1-50 strings of at most 8000 characters"),
        ({"item_id": "i1", "answers": []}, "answers: must be a list of 1-50 strings"),
        ({"item_id": "i1", "answers": ["x"] * 51}, "answers: must be a list of 1-50 strings"),
        ({"item_id": "i1", "answers": [1]}, "answers: must be a list of 1-50 strings"),
        ({"item_id": "i1", "answers": ["x" * 8001]}, "answers: must be a list of 1-50 strings"),
        ({"item_id": "nope", "answers": ["x"]}, "item_id: no item of the assessment has this id"),
        ({"answers": ["x"]}, "item_id"),
    ],
)
async def test_bad_previews_are_refused(run: Running, body: dict[str, Any], message: str) -> None:
    """Malformed or oversize requests get 422 naming the field; nothing else breaks."""
    assessment = await create_assessment(run, "fill_blank", "mastery", ITEMS)
    teacher = run.token("teacher", "course-1", "Instructor")
    response = await api(run, "POST", f"/api/assessments/{assessment}/preview", teacher, body)
    assert response.status_code == 422
    assert response.json()["error"].startswith(message)
