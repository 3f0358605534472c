"""The check after the faults: every student's history against the database.

For each conversation: every acknowledged ``client_msg_id`` stored exactly once and at
the acknowledged ``seq``; the stored seqs 1..n without a gap; every stored user turn
answered by exactly one reply (a reply names the turn it answers, ``in_reply_to``); no
reply left ``streaming``; every message the student holds as ended equal, id, status and
text, to the stored one; and the student's ``student_progress`` row what the completed
conversations imply.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from campaign.learner import Learner
from persistence.database import normalize_url
from persistence.schema import conversation_messages, conversations, student_progress

__all__ = ["Findings", "check", "check_conversation"]


@dataclasses.dataclass(slots=True)
class Findings:
    """What the check found, summed over the students; every count but ``acked`` is
    zero when nothing went wrong."""

    acked: int = 0
    lost: int = 0  # acknowledged, not stored (or stored at another seq)
    duplicated: int = 0  # a turn stored twice, or answered twice
    unanswered: int = 0  # a stored turn no reply answers
    left_streaming: int = 0
    gaps: int = 0  # stored seqs that are not 1..n
    mismatched: int = 0  # a message held unlike the stored one
    progress_wrong: int = 0
    client_violations: int = 0  # seen on the wire: a seq twice or past a gap
    stuck: int = 0  # students who could not finish: a turn never acked or answered
    examples: list[str] = dataclasses.field(default_factory=list)

    def add(self, kind: str, count: int, example: str) -> None:
        if count:
            setattr(self, kind, getattr(self, kind) + count)
            if len(self.examples) < 20:
                self.examples.append(f"{kind}: {example}")

    @property
    def clean(self) -> bool:
        return not any(v for k, v in self.counts().items() if k != "acked")

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "examples"}


async def check(database_url: str, learners: Sequence[Learner]) -> Findings:
    """Check every learner's history against the database at ``database_url``."""
    engine = create_async_engine(normalize_url(database_url))
    findings = Findings()
    try:
        async with engine.connect() as db:
            ids = [learner.conversation for learner in learners]
            rows = (
                await db.execute(
                    select(conversation_messages).where(
                        conversation_messages.c.conversation_id.in_(ids)
                    )
                )
            ).mappings()
            stored: dict[str, list[Any]] = {conversation: [] for conversation in ids}
            for row in rows:
                stored[row["conversation_id"]].append(row)
            convs = {
                row["id"]: row
                for row in (
                    await db.execute(select(conversations).where(conversations.c.id.in_(ids)))
                ).mappings()
            }
            progress = {
                (row["platform_id"], row["course_id"], row["user_id"]): row
                for row in (await db.execute(select(student_progress))).mappings()
            }
    finally:
        await engine.dispose()
    for learner in learners:
        check_conversation(
            learner, sorted(stored[learner.conversation], key=lambda r: r["seq"]), findings
        )
        _check_progress(learner, convs[learner.conversation], progress, findings)
    return findings


def check_conversation(learner: Learner, rows: list[Any], findings: Findings) -> None:
    """Check one student's history against its conversation's stored ``rows`` (in seq
    order), adding what is wrong to ``findings``."""
    where = f"conversation {learner.conversation}"
    findings.acked += len(learner.acked)
    findings.add("client_violations", len(learner.violations), f"{where}: {learner.violations[:3]}")
    seqs = [row["seq"] for row in rows]
    findings.add("gaps", int(seqs != list(range(1, len(rows) + 1))), f"{where}: seqs {seqs[:20]}")
    turns = Counter(row["client_msg_id"] for row in rows if row["role"] == "user")
    stored_at = {row["client_msg_id"]: row["seq"] for row in rows if row["role"] == "user"}
    lost = [c for c, seq in learner.acked.items() if stored_at.get(c) != seq]
    findings.add("lost", len(lost), f"{where}: {lost[:3]}")
    twice = [c for c, n in turns.items() if n > 1]
    answers = Counter(
        (row["metadata"] or {}).get("in_reply_to") for row in rows if row["role"] == "assistant"
    )
    answered_twice = [seq for seq, n in answers.items() if seq is not None and n > 1]
    findings.add(
        "duplicated", len(twice) + len(answered_twice), f"{where}: {twice} {answered_twice}"
    )
    unanswered = [row["seq"] for row in rows if row["role"] == "user" and not answers[row["seq"]]]
    findings.add("unanswered", len(unanswered), f"{where}: turns at {unanswered[:5]}")
    streaming = [row["seq"] for row in rows if row["status"] == "streaming"]
    findings.add("left_streaming", len(streaming), f"{where}: {streaming}")
    by_id = {row["id"]: row for row in rows}
    wrong = [
        message_id
        for message_id, (status, text) in learner.reply_texts().items()
        if (row := by_id.get(message_id)) is None
        or row["status"] != status
        or row["content"] != text
    ]
    if wrong:
        held = learner.reply_texts()[wrong[0]]
        row = by_id.get(wrong[0])
        stored = None if row is None else (row["seq"], row["status"], row["content"])
        findings.add("mismatched", len(wrong), f"{where}: {wrong[0]} held {held}, stored {stored}")


def _check_progress(
    learner: Learner,
    conversation: Any,
    progress: dict[tuple[str, str, str], Any],
    findings: Findings,
) -> None:
    """One conversation per student: completed, its progress row counts it once, with
    its score as the average."""
    key = (conversation["platform_id"], conversation["course_id"], conversation["user_id"])
    row = progress.get(key)
    if conversation["status"] != "completed":
        findings.add("progress_wrong", 1, f"conversation {learner.conversation} not completed")
        return
    expected = float(conversation["mastery_score"] or 0.0)
    right = (
        row is not None
        and row["total_assessments"] == 1
        and math.isclose(row["average_mastery"], expected, abs_tol=1e-6)
    )
    found = None if row is None else (row["total_assessments"], row["average_mastery"])
    findings.add("progress_wrong", int(not right), f"{key}: {found}, expected (1, {expected})")
