"""Where a live conversation stands: its status and score, and whether it takes turns.

The replay's ``welcome``, the ``completed`` frame and the refusal of late turns all read
it; the worker changes it as turns are graded and the attempt completes, and with other
processes their ``progress`` and ``completed`` events change it too.
"""

from __future__ import annotations

import dataclasses

from persistence.records import Conversation
from protocol.messages import Completed, Progress, ServerFrame

__all__ = ["Standing"]


@dataclasses.dataclass(slots=True, eq=False)
class Standing:
    """A conversation's status and score as this process knows them.

    Attributes:
        status: active, completed or abandoned.
        mastery_score: the score after the latest graded turn (0-100).
        closing: no new turn is taken (the conversation ended, or the student asked to
            complete it and the pending turns are still being answered).
        threshold: the assessment's mastery threshold (``passed`` is measured by it).
    """

    status: str
    mastery_score: float
    closing: bool
    threshold: float

    @classmethod
    def of(cls, conversation: Conversation, threshold: float) -> Standing:
        """The standing of a conversation as stored."""
        return cls(
            status=conversation.status,
            mastery_score=conversation.mastery_score,
            closing=conversation.status != "active",
            threshold=threshold,
        )

    def adopt(self, conversation: Conversation) -> None:
        """Take the status and score stored (a conversation never reopens)."""
        self.status, self.mastery_score = conversation.status, conversation.mastery_score
        self.closing = self.closing or conversation.status != "active"

    def ended(self, status: str, mastery_score: float | None = None) -> None:
        """The conversation ended with ``status`` (and its final score, if given)."""
        self.status, self.closing = status, True
        if mastery_score is not None:
            self.mastery_score = mastery_score

    def completed(self) -> Completed:
        """The ``completed`` frame of the conversation as it ended."""
        return Completed(
            status=self.status,
            mastery_score=self.mastery_score,
            passed=self.mastery_score >= self.threshold,
        )

    def follow(self, frame: ServerFrame) -> None:
        """Take the score or the end that another process published."""
        match frame:
            case Completed():
                self.ended(frame.status, frame.mastery_score)
            case Progress():
                self.mastery_score = frame.mastery_score
            case _:
                pass
