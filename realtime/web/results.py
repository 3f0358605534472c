"""An assessment's results for the instructors of its course: each student's attempts
and scores, the class's distribution and completions over time, the items most missed
(by their text), as JSON or CSV; and a finished attempt's score set by hand, with a
reason, sent on to the gradebook.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from assessment.grading import percent
from persistence.overrides import AttemptInProgress
from persistence.records import AssessmentConfig, Conversation
from realtime.auth import Identity
from realtime.hub import Hub
from realtime.web.api import (
    JSON,
    ApiError,
    assessment_of,
    body_of,
    endpoint,
    instructor,
    passed,
    title_of,
    visible_conversation,
)

__all__ = ["routes", "student_rows"]

MAX_REASON_CHARS = 1000
STRUGGLES_SHOWN = 3  # a student's items most missed, in the results
CSV_COLUMNS = (
    "user_id",
    "attempts",
    "best_score",
    "latest_score",
    "latest_status",
    "passed",
    "minutes_spent",
    "last_activity_at",
)


async def assessment_results(request: Request, hub: Hub, identity: Identity) -> Response:
    """``GET /api/assessments/{id}/results`` (``?format=csv``: one row a student)."""
    instructor(identity)
    config = await assessment_of(request, hub, identity)
    attempts = await hub.store.conversations.of_assessment(config.id)
    students = student_rows(config, attempts)
    if request.query_params.get("format") == "csv":
        return _csv(config, students)
    overridden = await hub.store.overrides.of_assessment(config.id)
    # The wrong answers read once: the class's most missed and each student's.
    misses = await hub.store.analytics.misses_of_assessment(config.id)
    summary = await hub.store.analytics.compute(identity.tenant, config.id, misses=misses)
    prompts = {item.id: item.prompt for item in (await hub.tutor(config)).spec.items}
    by_student: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for user_id, item_id in misses:
        by_student[user_id][item_id] += 1
    for row in students:
        row["struggles"] = [
            {"item_id": item, "text": prompts.get(item, item), "misses": count}
            for item, count in by_student[row["user_id"]].most_common(STRUGGLES_SHOWN)
        ]
    summary["most_missed"] = [
        missed | {"text": prompts.get(str(missed["item_id"]), str(missed["item_id"]))}
        for missed in summary["most_missed"]
    ]
    return JSON(
        {
            "assessment_id": config.id,
            "mastery_threshold": config.mastery_threshold,
            "students": students,
            "summary": summary,
            "completions": _completions(attempts),
            "overrides": overridden,
        }
    )


async def student_results(request: Request, hub: Hub, identity: Identity) -> Response:
    """``GET /api/courses/{course}/students/{user}``: one student's attempts of every
    assessment of the course, newest first, and their progress (instructors of the
    course)."""
    instructor(identity, request.path_params["course_id"])
    user_id = request.path_params["user_id"]
    attempts = await hub.store.conversations.of_student(identity.tenant, user_id)
    configs = {c.id: c for c in await hub.store.assessments.in_course(identity.tenant)}
    progress = await hub.store.progress.get(identity.tenant, user_id)
    return JSON(
        {
            "user_id": user_id,
            "progress": progress,
            "attempts": [
                {
                    "id": a.id,
                    "assessment_id": a.assessment_config_id,
                    "title": title_of(configs[a.assessment_config_id]),
                    "status": a.status,
                    "mastery_score": a.mastery_score,
                    "passed": passed(a, configs[a.assessment_config_id]),
                    "started_at": a.started_at,
                    "completed_at": a.completed_at,
                }
                for a in attempts
                if a.assessment_config_id in configs
            ],
        }
    )


def student_rows(config: AssessmentConfig, attempts: list[Conversation]) -> list[dict[str, Any]]:
    """One row per student: attempts (newest first), best and latest score, whether the
    best passes, time spent across attempts, last activity."""
    by_student: dict[str, list[Conversation]] = defaultdict(list)
    for attempt in attempts:
        by_student[attempt.user_id].append(attempt)
    rows = []
    for user_id in sorted(by_student):
        own = sorted(by_student[user_id], key=lambda a: a.started_at, reverse=True)
        finished = [a for a in own if a.status != "active"]
        best = max((a.mastery_score for a in finished), default=None)
        spent = sum(
            ((a.completed_at or a.last_activity_at) - a.started_at).total_seconds() for a in own
        )
        rows.append(
            {
                "user_id": user_id,
                "attempts": [
                    {
                        "id": a.id,
                        "status": a.status,
                        "mastery_score": a.mastery_score,
                        "started_at": a.started_at,
                        "completed_at": a.completed_at,
                    }
                    for a in own
                ],
                "best_score": best,
                "latest_score": own[0].mastery_score,
                "latest_status": own[0].status,
                "passed": best is not None and best >= config.mastery_threshold,
                "seconds_spent": round(max(0.0, spent)),
                "last_activity_at": max(a.last_activity_at for a in own),
            }
        )
    return rows


def _completions(attempts: list[Conversation]) -> list[dict[str, Any]]:
    """Completed attempts per day (UTC), oldest first."""
    days: Counter[str] = Counter(
        a.completed_at.date().isoformat()
        for a in attempts
        if a.status == "completed" and a.completed_at is not None
    )
    return [{"date": day, "completed": days[day]} for day in sorted(days)]


def _csv(config: AssessmentConfig, students: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in students:
        writer.writerow(
            [
                _cell(row["user_id"]),
                len(row["attempts"]),
                "" if row["best_score"] is None else row["best_score"],
                row["latest_score"],
                row["latest_status"],
                "yes" if row["passed"] else "no",
                math.ceil(row["seconds_spent"] / 60),
                _when(row["last_activity_at"]),
            ]
        )
    name = f"results-{config.id}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _cell(value: str) -> str:
    """A user id as a spreadsheet cell: one that starts like a formula is kept text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def set_score(request: Request, hub: Hub, identity: Identity) -> Response:
    """``POST /api/conversations/{id}/score`` ``{score, reason}``: a finished attempt's
    score set by an instructor of its course. The gradebook gets it when it is the
    student's latest finished attempt (``latest_attempt``), the one the gradebook holds."""
    instructor(identity)
    conversation = await visible_conversation(request, hub, identity)
    body = await body_of(request)
    score = body.get("score")
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not math.isfinite(score)
        or not 0 <= score <= 100
    ):
        raise ApiError(422, "score: must be a number from 0 to 100")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
        raise ApiError(422, f"reason: must be a non-empty string of at most {MAX_REASON_CHARS}")
    score = round(float(score), 2)
    try:
        override, latest = await hub.store.overrides.set(
            conversation,
            score=score,
            reason=reason.strip(),
            set_by=identity.user_id,
            comment=f"{percent(score)}, set by the instructor: {reason.strip()}",
        )
    except AttemptInProgress as running:
        raise ApiError(409, str(running)) from None
    # Only the latest finished attempt's score is the gradebook's (as completions send).
    return JSON(dataclasses.asdict(override) | {"latest_attempt": latest})


routes = [
    Route(
        "/api/assessments/{assessment_id}/results", endpoint(assessment_results), methods=["GET"]
    ),
    Route(
        "/api/courses/{course_id}/students/{user_id}", endpoint(student_results), methods=["GET"]
    ),
    Route("/api/conversations/{conversation_id}/score", endpoint(set_score), methods=["POST"]),
]
