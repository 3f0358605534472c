"""Drives a tutor the way the server does, keeping the transcript in memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assessment.evaluation import Evaluation
from assessment.grading import Score
from assessment.session import Turn
from assessment.spec import AssessmentSpec
from assessment.tutor import Tutor


class Dialogue:
    """A conversation with a tutor: the opening, then one answer at a time."""

    def __init__(self, tutor: Tutor) -> None:
        self.tutor = tutor
        self.turns: list[Turn] = []

    @classmethod
    def of(
        cls, assessment_type: str, schema: str, ai_config: dict[str, Any], threshold: float = 80
    ) -> Dialogue:
        spec = AssessmentSpec.from_config(
            assessment_type=assessment_type,
            grading_schema=schema,
            mastery_threshold=threshold,
            ai_config=ai_config,
        )
        return cls(Tutor(spec))

    async def open(self, plan: Sequence[str] | None = None) -> str:
        """The tutor's opening reply."""
        return await self._reply(plan)

    async def answer(self, text: str) -> tuple[Evaluation, Score, str]:
        """Send ``text``; the evaluation, the score after it, and the tutor's reply."""
        evaluation = await self.tutor.evaluate(self.turns, text)
        self.turns.append(
            Turn(role="user", content=text, metadata={"evaluation": evaluation.to_metadata()})
        )
        score = self.tutor.score(self.turns)
        return evaluation, score, await self._reply()

    @property
    def finished(self) -> bool:
        return self.tutor.session(self.turns).finished

    async def _reply(self, plan: Sequence[str] | None = None) -> str:
        reply = self.tutor.reply(self.turns, plan=plan)
        text = "".join([chunk async for chunk in reply.chunks])
        self.turns.append(Turn(role="assistant", content=text, metadata=reply.metadata))
        return text
