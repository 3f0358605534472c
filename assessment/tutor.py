"""The tutor: grades each student turn and produces the next reply as a stream of text.

It does no socket or database I/O. The server gives it the conversation so far (the
stored turns, with their metadata) and stores what it returns: an evaluation in the
student turn's metadata, a reply's text and metadata in the assistant message. The
tutor speaks first: with no assistant turn yet, its reply is the greeting and the first
item, and its metadata records the order of the items (``plan``).

What happens next is decided by the session rules (``assessment.session``) and graded
by the built-in grader. A chat assessment with an LLM configured speaks through the LLM
(a Socratic prompt, told what to do next) and grades coverage of key points with a
separate JSON call; when that JSON is unusable, the built-in grader decides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from assessment import phrasing, prompts
from assessment.evaluation import Evaluation
from assessment.grader import grade, grade_coverage
from assessment.grading import Score, score, struggles
from assessment.keypoints import denied
from assessment.llm import ChatClient, LLMError
from assessment.session import Catalog, Outcome, Session, Turn
from assessment.spec import AssessmentSpec, Item, Objective
from assessment.withholding import withheld

__all__ = ["AssessmentFinished", "Reply", "ReplyFailed", "Tutor"]

logger = logging.getLogger(__name__)
_TOKEN = re.compile(r"\s*\S+|\s+")


class AssessmentFinished(Exception):
    """Every item is done: there is nothing left to grade."""


class ReplyFailed(Exception):
    """The reply could not be finished; the text already streamed stands (status error)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A reply about to stream.

    Attributes:
        metadata: what to store with the assistant message (kind, the item it asks...).
        chunks: the text, chunk by chunk; raises :class:`ReplyFailed` if it breaks off.
    """

    metadata: dict[str, Any]
    chunks: AsyncIterator[str]


class Tutor:
    """Grades and replies for one assessment.

    Args:
        spec: the assessment.
        llm: the client to speak and grade through (chat assessments with ``llm`` set).
        pace: words per second the built-in phrasing streams at (0: at once).
    """

    def __init__(
        self, spec: AssessmentSpec, *, llm: ChatClient | None = None, pace: float = 0.0
    ) -> None:
        self.spec = spec
        self.catalog = Catalog.of(spec)  # shared by every session of this tutor
        self._llm = llm
        self._pace = pace

    @property
    def reads_history(self) -> bool:
        """Whether :meth:`respond` reads the turns it is given (the built-in tutor speaks
        from the session alone, so a caller may pass none)."""
        return self._llm is not None

    def session(self, turns: Sequence[Turn], plan: Sequence[str] | None = None) -> Session:
        """The session after ``turns``; ``plan`` orders a session that has none yet."""
        if plan is not None and not any(t.metadata and "plan" in t.metadata for t in turns):
            return self.new_session(plan)
        return Session.replay(self.spec, turns, catalog=self.catalog)

    def new_session(self, plan: Sequence[str] | None = None) -> Session:
        """A session at its start, its items in ``plan`` order (default: as configured)."""
        return Session(self.spec, plan, catalog=self.catalog)

    async def evaluate(self, turns: Sequence[Turn], answer: str) -> Evaluation:
        """Grade ``answer``, the student's reply to where ``turns`` left off.

        Raises:
            AssessmentFinished: every item is already done.
        """
        return await self.grade(self.session(turns), answer)

    async def grade(self, session: Session, answer: str) -> Evaluation:
        """Grade ``answer`` to the session's current item (the session is not changed).

        Raises:
            AssessmentFinished: every item is already done.
        """
        item = session.current_item
        if item is None:
            raise AssessmentFinished("every item is done")
        if isinstance(item, Objective) and self._llm is not None:
            covered = await self._llm_coverage(item, answer)
            if covered is not None:
                # The rules decide where they can: a point the answer denies is not stated.
                covered = {i for i in covered if not denied(answer, item.key_points[i])}
                return grade_coverage(session, answer, covered, graded_by="llm")
        return grade(session, answer)

    def reply(self, turns: Sequence[Turn], *, plan: Sequence[str] | None = None) -> Reply:
        """The reply to the last of ``turns`` (or the opening, if the tutor has not spoken)."""
        session = self.session(turns, plan)
        opening = not any(turn.role == "assistant" for turn in turns)
        last = _evaluated(turns)
        answered = last is not None and session.last is not None and session.last[0] == last
        return self.respond(session, turns, opening=opening, answered=answered)

    def respond(
        self, session: Session, turns: Sequence[Turn], *, opening: bool, answered: bool
    ) -> Reply:
        """The reply from where ``session`` stands.

        Args:
            session: the state, the latest student turn's grade applied.
            turns: the conversation so far (an LLM sees its recent history).
            opening: this is the tutor's first reply.
            answered: the latest student turn was graded (``session.last`` is its grade),
                so the reply gives feedback on it.
        """
        metadata: dict[str, Any] = {"kind": "opening" if opening else "feedback"}
        if opening:
            metadata["plan"] = list(session.plan)
        if not opening and answered and session.last is not None:
            metadata["outcome"] = session.last[1].value
            metadata["item_id"] = session.last[0].item_id
        metadata["asks"] = session.current
        if self._llm is not None:
            messages = prompts.tutor_messages(
                session, turns, opening=opening, answered=answered, score=score(session)
            )
            chunks = withheld(self._llm_chunks(messages), _secrets(session.current_item))
            return Reply(metadata=metadata, chunks=chunks)
        text = self._builtin_text(session, opening=opening, answered=answered)
        return Reply(metadata=metadata, chunks=_chunks(text, self._pace))

    def ask_again(self, session: Session) -> Reply:
        """The reply after one that failed (the LLM was unreachable or broke off): the
        current question again, in the built-in phrasing, which needs no LLM. The turn
        it answers is not graded: the student may never have seen the question."""
        item = session.current_item
        assert item is not None, "a finished session asks nothing"
        text = f"{phrasing.BROKE_OFF}\n\n{phrasing.ask(session, item)}"
        metadata = {"kind": "again", "asks": session.current}
        return Reply(metadata=metadata, chunks=_chunks(text, self._pace))

    def score(self, turns: Sequence[Turn]) -> Score:
        """The score after ``turns``."""
        return score(self.session(turns))

    def struggles(self, turns: Sequence[Turn]) -> dict[str, int]:
        """Item id -> times missed, for student progress."""
        return struggles(self.session(turns))

    def _builtin_text(self, session: Session, *, opening: bool, answered: bool) -> str:
        parts: list[str] = []
        if opening:
            parts.append(phrasing.greeting(session))
        elif answered and session.last is not None:
            evaluation, outcome = session.last
            parts.append(phrasing.feedback(session, evaluation, outcome))
            if outcome is Outcome.RETRY:
                return "\n\n".join(parts)
        item = session.current_item
        if item is not None:
            parts.append(phrasing.ask(session, item))
        else:
            engagement = self.spec.grading_schema == "engagement"
            parts.append(phrasing.closing(score(session), engagement=engagement))
        return "\n\n".join(parts)

    async def _llm_chunks(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        assert self._llm is not None
        try:
            async for chunk in self._llm.stream(messages):
                yield chunk
        except LLMError as error:
            raise ReplyFailed(str(error)) from error

    async def _llm_coverage(self, item: Objective, answer: str) -> set[int] | None:
        """The key points the LLM finds in ``answer``, or None if its reply is unusable."""
        assert self._llm is not None
        try:
            content = await self._llm.complete(
                prompts.grading_messages(item, answer), json_object=True
            )
        except LLMError as error:
            logger.warning("LLM grading failed (%s); the built-in grader decides", error)
            return None
        return _parse_coverage(content, len(item.key_points))


def _secrets(item: Item | None) -> list[str]:
    """What a reply must not say while ``item`` is being asked: its key points."""
    if not isinstance(item, Objective):
        return []
    return [phrasing for point in item.key_points for phrasing in point.phrasings]


def _evaluated(turns: Sequence[Turn]) -> Evaluation | None:
    """The evaluation of the last turn, if it is an evaluated student turn."""
    if not turns or turns[-1].role != "user":
        return None
    return Evaluation.from_metadata(turns[-1].metadata)


def _parse_coverage(content: str, count: int) -> set[int] | None:
    try:
        value = json.loads(content)
    except ValueError:
        return None
    covered = value.get("covered") if isinstance(value, dict) else None
    if not isinstance(covered, list):
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < count for i in covered):
        return None
    return set(covered)


async def _chunks(text: str, pace: float) -> AsyncIterator[str]:
    """The built-in tutor's text, a word (with the space before it) at a time, ``pace``
    words a second (0: as fast as the reader takes them)."""
    for index, token in enumerate(_TOKEN.findall(text)):
        if pace > 0 and index > 0:
            await asyncio.sleep(1 / pace)  # pacing for people, not a wait on an event
        yield token
